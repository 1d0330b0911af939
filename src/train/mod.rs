//! Training: learning an instrument's maps from a recording.
//!
//! - [`adjoint`]: the differentiable forward model of one voice on one mesh
//!   level and its exact gradients by the adjoint-state method (reverse-time
//!   pass with checkpointing), plus the certificate projection that keeps
//!   every parameter update stable.

pub mod adjoint;
