//! neirosynth
