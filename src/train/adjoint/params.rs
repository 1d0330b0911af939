//! The model's parameters θ, its gradients, the checkpointing modes and the
//! tape of a forward pass.

use crate::instrument::PLAN_SAFETY;
use crate::physics::aligned::Aligned;
use crate::physics::kernel::Real;

/// Why the model refused to run.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum AdjointError {
    /// A map or signal of the wrong length.
    #[error("{what}: expected {expected} values, got {got}")]
    Length {
        /// Which input.
        what: &'static str,
        /// Expected length.
        expected: usize,
        /// Actual length.
        got: usize,
    },
    /// A parameter is NaN or infinite.
    #[error("parameter {0} is not finite")]
    NotFinite(&'static str),
    /// The parameters fail the stability certificate.
    #[error("unstable: (a+2b)·r + κk² = {value:.4} ≥ {limit}")]
    Unstable {
        /// The certificate's value.
        value: f64,
        /// The limit it must stay under.
        limit: f64,
    },
    /// The model cannot be built as asked.
    #[error("invalid model: {0}")]
    Invalid(String),
}

/// The strike's differentiable parameters.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct StrikeParams<T> {
    /// Horizontal position, 0..1 (clamped; the gradient is that of the interior).
    pub x: T,
    /// Vertical position, 0..1 (ignored on a string).
    pub y: T,
    /// Amplitude (the engine's velocity × loudness).
    pub amplitude: T,
    /// Contact time in time steps (real-valued, ≥ 1; the engine rounds `contact_s / k`).
    pub contact_steps: T,
}

/// Every trainable parameter θ of one voice. Maps are row-major
/// `width × height`; entries off the body are ignored (and get zero gradient).
#[derive(Clone, Debug, PartialEq)]
pub struct Params<T> {
    /// Stiffness map `s` (relative c²).
    pub stiffness: Vec<T>,
    /// Frequency-independent damping map σ₀, 1/s.
    pub sigma0: Vec<T>,
    /// `a = c²k²` (global stiffness: the pitch scale).
    pub a: T,
    /// `b = 2σ₁k` (frequency-dependent loss).
    pub b: T,
    /// `κk²` (support spring).
    pub kappa_k2: T,
    /// The strike.
    pub strike: StrikeParams<T>,
    /// Output gain.
    pub gain: T,
}

impl<T: Real> Params<T> {
    /// All parameters zero, with maps of `nodes` entries (a gradient accumulator).
    pub fn zeros(nodes: usize) -> Self {
        Self {
            stiffness: vec![T::ZERO; nodes],
            sigma0: vec![T::ZERO; nodes],
            a: T::ZERO,
            b: T::ZERO,
            kappa_k2: T::ZERO,
            strike: StrikeParams::default(),
            gain: T::ZERO,
        }
    }

    pub(super) fn scalars(&self) -> [T; 8] {
        let s = &self.strike;
        [
            self.a,
            self.b,
            self.kappa_k2,
            s.x,
            s.y,
            s.amplitude,
            s.contact_steps,
            self.gain,
        ]
    }

    pub(super) fn scalars_mut(&mut self) -> [&mut T; 8] {
        let s = &mut self.strike;
        [
            &mut self.a,
            &mut self.b,
            &mut self.kappa_k2,
            &mut s.x,
            &mut s.y,
            &mut s.amplitude,
            &mut s.contact_steps,
            &mut self.gain,
        ]
    }

    /// Inner product `⟨self, other⟩` over every parameter (in `f64`).
    pub fn dot(&self, other: &Self) -> f64 {
        let maps: f64 = self
            .stiffness
            .iter()
            .zip(&other.stiffness)
            .chain(self.sigma0.iter().zip(&other.sigma0))
            .map(|(a, b)| a.to_f64() * b.to_f64())
            .sum();
        let sc: f64 = self
            .scalars()
            .iter()
            .zip(other.scalars())
            .map(|(a, b)| a.to_f64() * b.to_f64())
            .sum();
        maps + sc
    }

    /// `self += alpha · dir`.
    pub fn axpy(&mut self, alpha: f64, dir: &Self) {
        for (v, d) in self
            .stiffness
            .iter_mut()
            .zip(&dir.stiffness)
            .chain(self.sigma0.iter_mut().zip(&dir.sigma0))
        {
            *v = T::from_f64(v.to_f64() + alpha * d.to_f64());
        }
        for (v, d) in self.scalars_mut().into_iter().zip(dir.scalars()) {
            *v = T::from_f64(v.to_f64() + alpha * d.to_f64());
        }
    }

    /// True when every value is finite.
    pub fn is_finite(&self) -> bool {
        self.stiffness
            .iter()
            .chain(&self.sigma0)
            .chain(self.scalars().iter())
            .all(|v| v.to_f64().is_finite())
    }
}

/// The gradient of a loss with respect to every parameter, and what it cost.
#[derive(Clone, Debug)]
pub struct Gradients<T> {
    /// `∂L/∂θ`, in the shape of [`Params`].
    pub grad: Params<T>,
    /// Bytes held by the adjoint pass (checkpoints, segment buffers, work arrays).
    pub memory_bytes: usize,
    /// Steps per checkpoint segment used.
    pub segment: usize,
    /// Checkpoints stored.
    pub checkpoints: usize,
}

/// How the forward states are kept for the backward pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Checkpointing {
    /// Checkpoints every ≈ √T steps.
    #[default]
    Auto,
    /// Checkpoints every `K` steps (clamped to 1..=T).
    Every(usize),
    /// Every state of the forward pass is kept (no recomputation).
    FullHistory,
}

/// The forward pass's record for the backward pass.
#[derive(Clone, Debug)]
pub struct Tape<T> {
    pub(super) steps: usize,
    pub(super) segment: usize,
    pub(super) full: bool,
    /// `(u_{jK−1}, u_{jK})` per checkpoint `j`, interior nodes only (no padding).
    pub(super) checkpoints: Vec<T>,
    /// The auxiliary field at checkpoints inside the strike's contact time.
    pub(super) aux: Vec<(usize, Vec<T>)>,
    /// The full history (`u_{−1} … u_{T−1}`) for [`Checkpointing::FullHistory`].
    pub(super) history: Aligned<T>,
    /// Pickup before gain, `P u_{t+1}`.
    pub(super) raw: Vec<T>,
}

impl<T> Tape<T> {
    /// Bytes this tape holds.
    pub fn bytes(&self) -> usize {
        let t = std::mem::size_of::<T>();
        (self.checkpoints.len()
            + self.aux.iter().map(|a| a.1.len()).sum::<usize>()
            + self.history.len()
            + self.raw.len())
            * t
    }
    /// Steps recorded.
    pub fn steps(&self) -> usize {
        self.steps
    }
}

/// Per-node coefficient maps in the padded layout.
#[derive(Clone, Debug)]
pub struct Coefs<T> {
    /// Weight of `u`.
    pub c: Vec<T>,
    /// Weight of `u⁻` (subtracted).
    pub d: Vec<T>,
    /// Weight of the neighbour sum of `w`.
    pub e: Vec<T>,
    /// `1/(1+σ₀k)` (zero off the body).
    pub inv: Vec<T>,
    /// `a + b`.
    pub ab: T,
    /// `b`.
    pub b: T,
}

/// Bounds the certificate projection keeps parameters in.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bounds {
    /// Stiffness range (the instrument format allows 1e-3..1).
    pub stiffness: (f64, f64),
    /// σ₀ range, 1/s (the format allows 0..200).
    pub sigma0: (f64, f64),
    /// Smallest contact time in steps.
    pub min_contact_steps: f64,
    /// Share of the certificate's limit allowed ([`PLAN_SAFETY`] by default).
    pub safety: f64,
}

impl Default for Bounds {
    fn default() -> Self {
        Self {
            stiffness: (1e-3, 1.0),
            sigma0: (0.0, 200.0),
            min_contact_steps: 1.0,
            safety: PLAN_SAFETY,
        }
    }
}
