//! Excitations of a running mesh: strike (force pulse), pluck (initial
//! displacement) and noise burst, each with a raised-cosine spatial window
//! (the bow, which sustains, is `super::bow`).
//!
//! # Real-time safety
//! Fixed-size state only; [`Excitation::setup`] and [`Excitation::inject`]
//! never allocate.

use crate::physics::body::Layout;
use crate::types::ExciteShape;

/// Largest spatial window, in nodes per axis.
pub const MAX_WINDOW: usize = 64;

/// Velocity scale of a unit-amplitude strike (grid units).
pub const STRIKE_SCALE: f32 = 120_000.0;
/// Displacement scale of a unit-amplitude pluck.
const PLUCK_SCALE: f32 = 0.2;

/// One excitation in progress.
#[derive(Clone, Copy)]
pub struct Excitation {
    shape: ExciteShape,
    /// First node of the window (padded index of its top-left corner).
    origin: usize,
    nx: usize,
    ny: usize,
    wx: [f32; MAX_WINDOW],
    wy: [f32; MAX_WINDOW],
    /// Steps the force lasts.
    steps: u32,
    /// Steps done.
    done: u32,
    /// Force scale per step (already includes amplitude, normalisation and k).
    scale: f32,
    rng: u32,
    active: bool,
}

impl Default for Excitation {
    fn default() -> Self {
        Self {
            shape: ExciteShape::Strike,
            origin: 0,
            nx: 0,
            ny: 0,
            wx: [0.0; MAX_WINDOW],
            wy: [0.0; MAX_WINDOW],
            steps: 0,
            done: 0,
            scale: 0.0,
            rng: 1,
            active: false,
        }
    }
}

/// Raised-cosine window of `n` taps centred at `centre` (grid coordinates)
/// with radius `radius` nodes, clipped to `0..len`. Returns (first node, taps).
fn window(centre: f32, radius: f32, len: usize, out: &mut [f32; MAX_WINDOW]) -> (usize, usize) {
    let r = radius.max(0.5).min((MAX_WINDOW / 2) as f32 - 0.5);
    let lo = (centre - r).ceil().max(0.0) as usize;
    let hi = ((centre + r).floor() as isize)
        .min(len as isize - 1)
        .max(lo as isize) as usize;
    let n = (hi - lo + 1).min(MAX_WINDOW);
    for (j, o) in out.iter_mut().enumerate().take(n) {
        let d = ((lo + j) as f32 - centre) / (r + 0.5);
        *o = 0.5 * (1.0 + (std::f32::consts::PI * d).cos());
    }
    (lo, n)
}

impl Excitation {
    /// True while it still acts on the mesh.
    pub fn is_active(&self) -> bool {
        self.active
    }

    /// Prepares an excitation at (x, y) in 0..1 on a mesh with `layout`.
    ///
    /// `amplitude` is 0..1 (velocity), `width` the window diameter as a share
    /// of the mesh width, `contact_s` the contact time, `k` the time step,
    /// `mask` the padded stiffness map (non-zero on body nodes), `loudness`
    /// a pitch-dependent gain. A pluck is applied at once to `cur` and
    /// `prev`; the others act over the following steps.
    #[allow(clippy::too_many_arguments)]
    pub fn setup(
        &mut self,
        shape: ExciteShape,
        layout: &Layout,
        mask: &[f32],
        pos: (f32, f32),
        amplitude: f32,
        width: f32,
        contact_s: f32,
        k: f32,
        loudness: f32,
        seed: u32,
        cur: &mut [f32],
        prev: &mut [f32],
    ) {
        let radius = 0.5 * width * layout.width as f32;
        let cx = pos.0.clamp(0.0, 1.0) * (layout.width - 1) as f32;
        let cy = pos.1.clamp(0.0, 1.0) * (layout.height - 1) as f32;
        let (x0, nx) = window(cx, radius, layout.width, &mut self.wx);
        let (y0, ny) = if layout.height == 1 {
            self.wy[0] = 1.0;
            (0, 1)
        } else {
            window(cy, radius, layout.height, &mut self.wy)
        };
        self.origin = layout.idx(x0, y0);
        self.nx = nx;
        self.ny = ny;
        self.shape = shape;
        // Normalise over the body nodes the window covers.
        let mut sum = 0.0f32;
        let mut peak = 0.0f32;
        for j in 0..ny {
            let row = self.origin + j * layout.stride;
            for i in 0..nx {
                if mask[row + i] > 0.0 {
                    let w = self.wx[i] * self.wy[j];
                    sum += w;
                    peak = peak.max(w);
                }
            }
        }
        if sum == 0.0 {
            self.active = false;
            return;
        }
        match shape {
            ExciteShape::Pluck => {
                let s = amplitude * PLUCK_SCALE / peak;
                for j in 0..ny {
                    let row = self.origin + j * layout.stride;
                    for i in 0..nx {
                        if mask[row + i] > 0.0 {
                            let d = s * self.wx[i] * self.wy[j];
                            cur[row + i] += d;
                            prev[row + i] += d;
                        }
                    }
                }
                // Kept for engines that apply the pluck themselves (GPU).
                self.scale = s;
                self.active = false;
            }
            // The bow is the voice's own (`super::bow`), not a slot's.
            ExciteShape::Bow => self.active = false,
            ExciteShape::Strike | ExciteShape::Noise => {
                let dur = if shape == ExciteShape::Noise {
                    4.0 * contact_s
                } else {
                    contact_s
                };
                self.steps = ((dur / k).round() as u32).max(1);
                self.done = 0;
                self.scale = amplitude * STRIKE_SCALE * loudness * k / sum;
                self.rng = seed | 1;
                self.active = true;
            }
        }
    }

    /// Adds this step's force to `next` (the state just computed) and
    /// keeps the auxiliary field `w_next` consistent (`+= ab·Δ`).
    #[inline]
    pub fn inject(
        &mut self,
        stride: usize,
        mask: &[f32],
        ab: f32,
        next: &mut [f32],
        w_next: &mut [f32],
    ) {
        let Some(f) = self.next_force() else {
            return;
        };
        for j in 0..self.ny {
            let row = self.origin + j * stride;
            let wy = self.wy[j] * f;
            for i in 0..self.nx {
                if mask[row + i] > 0.0 {
                    let d = wy * self.wx[i];
                    next[row + i] += d;
                    w_next[row + i] += ab * d;
                }
            }
        }
    }

    /// This step's force scale (the window weights multiply it), advancing
    /// the envelope and the noise generator; `None` once inactive.
    #[inline]
    pub(crate) fn next_force(&mut self) -> Option<f32> {
        if !self.active {
            return None;
        }
        let n = self.steps as f32;
        let phase = (self.done as f32 + 0.5) / n;
        let env = (1.0 - (2.0 * std::f32::consts::PI * phase).cos()) / n;
        let f = match self.shape {
            ExciteShape::Noise => {
                // xorshift32, uniform in −1..1, scaled to the strike's mean energy.
                self.rng ^= self.rng << 13;
                self.rng ^= self.rng >> 17;
                self.rng ^= self.rng << 5;
                let u = (self.rng as f32 / u32::MAX as f32) * 2.0 - 1.0;
                self.scale * env * u * (3.0 * n).sqrt() * 0.25
            }
            _ => self.scale * env,
        };
        self.done += 1;
        if self.done >= self.steps {
            self.active = false;
        }
        Some(f)
    }

    /// The window: (padded index of its first node, taps across, taps
    /// down, weights across, weights down).
    pub(crate) fn window(&self) -> (usize, usize, usize, &[f32; MAX_WINDOW], &[f32; MAX_WINDOW]) {
        (self.origin, self.nx, self.ny, &self.wx, &self.wy)
    }

    /// The force scale of a strike or noise burst, or the displacement
    /// scale of the last pluck (its window weights multiply it).
    pub(crate) fn scale(&self) -> f32 {
        self.scale
    }
}
