//! The wave physics: bodies, the finite-difference scheme, its stability
//! certificate and eigen-analysis. Pure numerics, no engine or I/O.

pub mod aligned;
pub mod body;
pub mod bow;
pub mod certificate;
pub mod kernel;
pub mod modes;
pub mod scheme;
pub mod simd;
