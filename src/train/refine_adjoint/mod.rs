//! The adjoint refiner (`--mode adjoint`, `hybrid`, `progressive`): Adam
//! on the instrument file's **stiffness and σ₀ maps, node by node**, plus
//! σ₁, the strike position and the contact time, with exact gradients of
//! the loss from [`super::adjoint`].
//!
//! # From the file to the adjoint model, and back
//!
//! Target `i` is played at `model.play_notes[i]`; [`Instrument::plan`](crate::instrument::Instrument::plan)
//! gives the pyramid level and the scheme (`a`, `b`, `κk²`, `k`). The
//! adjoint model ([`voice`](mod@voice)) runs that level at one step per sample with
//! the level's maps, the engine's strike (velocity [`fit::VELOCITY`](crate::train::fit::VELOCITY)
//! through [`velocity_amplitude`](crate::voice::control::velocity_amplitude), the pitch loudness, the contact time
//! `contact_ms·2^(1−2v)` rounded to steps) or its pluck (the initial
//! displacement, [`AdjointModel::with_initial_displacement`](crate::train::adjoint::AdjointModel::with_initial_displacement)), and both
//! pickups mixed to mono ([`AdjointModel::with_pickups`](crate::train::adjoint::AdjointModel::with_pickups)). On the loss
//! side the output goes through the engine's 5 Hz DC blocker, the onset
//! alignment of [`super::Problem::render_aligned`] and the RMS match of
//! [`super::Problem::loss`]; the gradient runs back through all three (the
//! RMS match is scale-invariant, so `dL/dy` loses its component along `y`).
//!
//! Back to the file: `dL/dσ₁ = dL/db · 2·scale·k`; the contact time and
//! strike position map one to one; the maps of a coarser level are pulled
//! back to the file's resolution through the adjoint of
//! [`Body::downsample_map`](crate::physics::body::Body::downsample_map) (each coarse node's gradient shared among the
//! body nodes it averages). The stiffness map also tunes the note: the
//! engine sets `a = (4 sin²(πfk) − κk²)/μ₁(s)`, so the stiffness gradient
//! carries `−a·∂L/∂a·∂μ₁/∂s_i/μ₁`, with `∂μ₁/∂s_i = μ₁φ_i²/s_i` from the
//! fundamental's eigenvector `φ` of `S^{1/2}(−G)S^{1/2}` (Lanczos Ritz
//! vector, [`fundamental_sensitivity`]).
//!
//! # What it cannot model
//!
//! Notes the engine plays with oversampling (`M > 1` steps per sample:
//! above what the coarsest level plays at one step) and noise-burst
//! excitations. Such targets are left out of the gradient (their loss
//! still counts in every accept decision); when no target can be modelled
//! the refiner runs SPSA instead and says so. The pickup positions and the
//! strike width are not differentiated (the adjoint has no gradient for
//! them): `hybrid` moves them in its SPSA phase.
//!
//! # The loop
//!
//! Parameters θ: `ln s` and `ln(σ₀ + 0.05)` per body node of the file,
//! `ln(σ₁ + 0.1)`, logit of the strike position, `ln contact_ms`. Adam
//! with a cosine learning rate (to a tenth), coarse-to-fine loss stages
//! ([`LossConfig::coarse_to_fine`](crate::train::loss::LossConfig::coarse_to_fine), a third of the iterations each). Each
//! update is made certified: the stepped file goes through
//! [`fit::certify`](crate::train::fit::certify) (σ₁ halved until every note plans stably), the step
//! halved (up to 6 times) while it cannot be, and θ re-read from the
//! certified file. Every iterate is scored through the real engine
//! ([`engine_loss`]) and only improvements reach
//! [`RefineContext::improved`](crate::train::refine::RefineContext::improved), so the result is never worse than the
//! analysis fit.
//!
//! `hybrid`: SPSA ([`Spsa`](crate::train::spsa::Spsa)) for the first half of the iterations (scalars
//! and pickups), then the adjoint from its result. `progressive`: the first
//! half models each note one pyramid level coarser (32×32 for a 64×64
//! body: a quarter of the cost; the coarse gradient lands on the file's
//! maps as a piecewise-constant update), the second half the level the
//! engine plays.
//!
//! One concept per file: [`voice`](mod@voice) (the adjoint model of one note and the
//! fundamental's sensitivity), [`gradient`] (the loss and its gradient on
//! the file), [`theta`] (the file ↔ θ parameters), [`refiner`] (Adam, the
//! variants, the refiner and its checkpointed state).

pub mod gradient;
pub mod refiner;
pub mod theta;
pub mod voice;

pub use gradient::{
    dc_block, dc_block_adjoint, downsample_map_adjoint, engine_loss, loss_and_gradient,
    render_voice, voice_loss_grad, FileGradient,
};
pub use refiner::{AdamOptions, AdamState, AdjointRefiner, State, Variant};
pub use theta::{model_of, theta_of};
pub use voice::{fundamental_sensitivity, voice, AdjointVoice, Unmodelled};
