//! The differentiable forward model of one voice and its exact gradient by
//! the adjoint-state method.
//!
//! # Forward model
//!
//! One voice on one mesh level at one step per sample, in the engine's exact
//! arithmetic (see [`crate::physics::scheme`]): for steps `t = 0 … T−1`,
//! starting at rest (`u₋₁ = u₀ = 0`),
//!
//! ```text
//! u_{t+1} = C·u_t − D·u_{t−1} + E·N w_t + F_t,     w_t = (a+b)·u_t − b·u_{t−1}
//! y_t     = g · P u_{t+1}
//! ```
//!
//! with `N` the neighbour sum (symmetric; padding and void nodes are zero),
//! the per-node coefficients of `fill_coefficients`
//! (`C = (2 − κk² − (a+b)·s·n)/(1+σ₀k)`, `D = (1 − σ₀k − b·s·n)/(1+σ₀k)`,
//! `E = s/(1+σ₀k)`), the strike force `F_t` (the engine's raised-cosine
//! window and envelope, injected after the step as
//! [`crate::engine::excitation::Excitation::inject`] does), the bilinear
//! pickup `P` and the output gain `g`. No DC blocker: the trainer applies
//! it (a fixed linear filter) on the loss side if it wants to.
//!
//! # Adjoint recurrence
//!
//! With `λ_t = ∂L/∂y_t` and `p_t = dL/du_t` (total derivative through
//! everything downstream), transposing the two Jacobians
//! `∂u_{t+1}/∂u_t = C + (a+b)·E·N` and `∂u_{t+1}/∂u_{t−1} = −D − b·E·N`
//! (`N` symmetric, `C, D, E` diagonal) gives a recurrence of the *same form*
//! as the scheme, run backwards in time:
//!
//! ```text
//! p_{T+1} = 0,  p_T = g·Pᵀλ_{T−1}
//! p_t = C·p_{t+1} − D·p_{t+2} + N v_{t+1} + g·Pᵀλ_{t−1},   v_t = E·((a+b)·p_t − b·p_{t+1})
//! ```
//!
//! and the gradients of the coefficients are sums over time of
//! `p_{t+1}` against the forward states:
//!
//! ```text
//! ∂L/∂C_i = Σ_t p_{t+1,i} u_{t,i}         ∂L/∂D_i = −Σ_t p_{t+1,i} u_{t−1,i}
//! ∂L/∂E_i = Σ_t p_{t+1,i} (N w_t)_i = (a+b)·U_i − b·V_i
//! ∂L/∂(a+b)|_w = Σ_i E_i U_i                ∂L/∂b|_w = −Σ_i E_i V_i
//! U_i = Σ_t p_{t+1,i} (N u_t)_i             V_i = Σ_t p_{t+1,i} (N u_{t−1})_i
//! ∂L/∂F_{t,i} = p_{t+1,i}                    ∂L/∂g = Σ_t λ_t P u_{t+1}
//! ```
//!
//! The chain rule through `C, D, E, (a+b), b` to the physical parameters
//! (with `inv = 1/(1+σ₀k)`):
//!
//! ```text
//! ∂L/∂s_i  = inv·(−(a+b)·n_i·∂C − b·n_i·∂D + ∂E)
//! ∂L/∂σ₀_i = −k·inv·(C·∂C + (1+D)·∂D + E·∂E)
//! ∂L/∂a    = Σ_i −s_i n_i inv_i ∂C_i + ∂(a+b)|_w
//! ∂L/∂b    = Σ_i −s_i n_i inv_i (∂C_i + ∂D_i) + ∂(a+b)|_w + ∂b|_w
//! ∂L/∂κk²  = Σ_i −inv_i ∂C_i
//! ```
//!
//! and through the strike (`F_{t,i} = A·S·k·env_t(n)·ŵ_i(c)`, `ŵ` the
//! normalised window, `n` the contact time in steps, `c` the centre) to its
//! amplitude, contact time and position.
//!
//! # Checkpointing
//!
//! The forward pass keeps `(u_{t−1}, u_t)` every `K` steps (≈ √T by
//! default). The backward pass walks the segments last to first,
//! recomputes each segment's states from its checkpoint into a buffer of
//! `K + 1` states (bit-identical to the forward pass: the auxiliary field is
//! stored too at checkpoints where the strike still acts, since the engine's
//! injection rounds it differently) and runs the adjoint over it. Memory is
//! `(T/K)·2 + (K+1)` states instead of `T`; with two threads a second segment
//! buffer lets one thread recompute segment `j−1` while the other runs the
//! adjoint over segment `j`.

mod backward;
mod forward;
mod model;
mod params;
mod sweep;
mod update;

/// The floating-point types the model runs in (`f32` for training, `f64`
/// for finite-difference checks): the kernel's.
pub use crate::physics::kernel::Real;
pub use model::AdjointModel;
pub use params::{
    AdjointError, Bounds, Checkpointing, Coefs, Gradients, Params, StrikeParams, Tape,
};
