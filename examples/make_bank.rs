//! Generates the shipped instrument bank, `instruments/*.json`.
//!
//! Every instrument is designed here in code: its maps are formulas of the
//! node position, its scalars are chosen by hand (the marimba's stiffness
//! profile by a bisection, see [`marimba`]). For each one the generator
//!
//! 1. builds the [`InstrumentFile`] and validates it with
//!    [`Instrument::from_file`] (which also certifies notes 24 and 108);
//! 2. renders the reference note at velocity 0.8 for 2 s and sets `gain` so
//!    that its peak is about 0.5 (−6 dBFS);
//! 3. checks that notes 24, 48, 72, 96 and 108 (velocity 0.8, 1 s) and the
//!    bank test's notes 24, 47, 66, 85 and 108 (velocity 1.0, 0.25 s) render
//!    finite with a peak ≤ 1.0;
//! 4. checks the library's eigenvalues against an independent, longer
//!    Lanczos run, and prints the modes, peaks, T60 and render time;
//! 5. writes `instruments/<name>.json` (pretty JSON).
//!
//! Run from the repository root:
//!
//! ```text
//! cargo run --release --example make_bank
//! ```
//!
//! The output is deterministic: the same source gives the same files.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use neirosynth::instrument::format::{
    ExcitationSpec, ExciteShape, InstrumentFile, MapData, MapsSpec, MeshSpec, PhysicsSpec,
    PickupSpec, Provenance, Ranges, FORMAT_TAG, FORMAT_VERSION,
};
use neirosynth::instrument::{note_to_hz, Instrument};
use neirosynth::physics::body::{Body, Boundary, Edge, NodeKind};
use neirosynth::physics::modes::{
    a_for_frequency, lowest_eigenvalues, lowest_eigenvalues_with, mode_frequency, RIGID_MODE_EPS,
};
use neirosynth::physics::scheme::BodyMaps;
use neirosynth::render::{render_note_cpu, NoteSpec, RenderSettings, StereoBuffer};
use neirosynth::types::NoteRequest;

/// Date written into every instrument's provenance.
const DATE: &str = "2026-11-23";
/// Sample rate of every check.
const SAMPLE_RATE: f64 = 48000.0;
/// Target peak of the reference note at velocity 0.8 (−6 dBFS).
const TARGET_PEAK: f32 = 0.5;
/// Largest peak any note may reach at velocity 1 (caps the gain).
const HEADROOM_PEAK: f32 = 0.98;
/// The marimba's design ratio: first overtone over fundamental.
const MARIMBA_RATIO: f64 = 4.0;
/// Modes compared with the reference eigen-solver.
const CHECK_MODES: usize = 6;

/// Node kinds as stored in the mask.
const VOID: u8 = 0;
const BODY: u8 = 1;
const CLAMP: u8 = 2;

/// One instrument as designed: everything but the gain.
struct Design {
    name: &'static str,
    description: String,
    family: &'static str,
    width: usize,
    height: usize,
    reference_note: f64,
    boundary: Boundary,
    sigma1: f64,
    support_hz: f64,
    release_t60: Option<f64>,
    excitation: ExcitationSpec,
    pickups: PickupSpec,
    stiffness: Vec<f32>,
    sigma0: Vec<f32>,
    mask: Vec<u8>,
    /// Design notes (provenance.source).
    source: String,
}

impl Design {
    /// The instrument file with output gain `gain`.
    fn file(&self, gain: f64) -> InstrumentFile {
        InstrumentFile {
            format: FORMAT_TAG.into(),
            version: FORMAT_VERSION,
            name: self.name.into(),
            description: self.description.clone(),
            family: self.family.into(),
            mesh: MeshSpec {
                width: self.width,
                height: self.height,
            },
            reference_note: self.reference_note,
            boundary: self.boundary,
            physics: PhysicsSpec {
                sigma1: self.sigma1,
                support_hz: self.support_hz,
                release_t60: self.release_t60,
            },
            excitation: self.excitation,
            pickups: self.pickups,
            gain,
            ranges: Ranges::default(),
            provenance: Provenance {
                method: "hand-designed".into(),
                tool: "examples/make_bank.rs".into(),
                source: self.source.clone(),
                date: DATE.into(),
            },
            maps: MapsSpec {
                stiffness: MapData::from_f32(&self.stiffness),
                sigma0: MapData::from_f32(&self.sigma0),
                mask: MapData::from_u8(&self.mask),
            },
            kan: None,
            radiation: None,
            level_curve: None,
        }
    }

    /// The full-resolution body and maps (as level 0 of the pyramid).
    fn maps(&self) -> BodyMaps {
        let mask = self
            .mask
            .iter()
            .map(|&b| NodeKind::from_byte(b).expect("mask byte"))
            .collect();
        let body = Body {
            width: self.width,
            height: self.height,
            mask,
            boundary: self.boundary,
        };
        BodyMaps::new(body, &self.stiffness, &self.sigma0)
    }
}

// ---------------------------------------------------------------------------
// Map helpers
// ---------------------------------------------------------------------------

/// A `w × h` map from a formula of the node position (x, y).
fn grid<T>(w: usize, h: usize, f: impl Fn(f64, f64) -> T) -> Vec<T> {
    (0..w * h)
        .map(|i| f((i % w) as f64, (i / w) as f64))
        .collect()
}

/// Hermite smoothstep from 0 (at `t ≤ 0`) to 1 (at `t ≥ 1`).
fn smoothstep(t: f64) -> f64 {
    let t = t.clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// Polar coordinates of node (x, y) about the centre of an `n × n` grid:
/// radius in nodes and angle in radians.
fn polar(n: usize, x: f64, y: f64) -> (f64, f64) {
    let c = (n as f64 - 1.0) / 2.0;
    ((x - c).hypot(y - c), (y - c).atan2(x - c))
}

/// Outer radius of the disc inscribed in an `n × n` grid (as `Body::disc`).
fn disc_radius(n: usize) -> f64 {
    n as f64 / 2.0 - 0.25
}

/// Boundary with each side and the void edges given.
fn boundary(left: Edge, right: Edge, top: Edge, bottom: Edge, void: Edge) -> Boundary {
    Boundary {
        left,
        right,
        top,
        bottom,
        void,
    }
}

fn strike(x: f64, y: f64, width: f64, contact_ms: f64) -> ExcitationSpec {
    ExcitationSpec {
        shape: ExciteShape::Strike,
        x,
        y,
        width,
        contact_ms,
        bow_force: None,
        bow_velocity: None,
    }
}

fn pluck(x: f64, y: f64, width: f64) -> ExcitationSpec {
    ExcitationSpec {
        shape: ExciteShape::Pluck,
        x,
        y,
        width,
        contact_ms: 1.0,
        bow_force: None,
        bow_velocity: None,
    }
}

fn pickups(left: [f64; 2], right: [f64; 2]) -> PickupSpec {
    PickupSpec { left, right }
}

// ---------------------------------------------------------------------------
// Eigen-analysis helpers
// ---------------------------------------------------------------------------

/// The elastic eigenvalues (rigid modes dropped, as the library does).
fn elastic(modes: &[f64]) -> Vec<f64> {
    modes
        .iter()
        .copied()
        .filter(|&m| m > RIGID_MODE_EPS)
        .collect()
}

/// Frequency ratios `f_i / f_1` of eigenvalues `mus` (elastic, ascending)
/// at the scheme parameters that tune the first one to `note` on a level
/// played at one step per sample.
fn ratios_at(mus: &[f64], note: f64, support_hz: f64, oversample: u32) -> Vec<f64> {
    let k = 1.0 / (SAMPLE_RATE * oversample as f64);
    let kk = (2.0 * std::f64::consts::PI * support_hz * k).powi(2);
    let a = a_for_frequency(mus[0], note_to_hz(note), kk, k);
    let f1 = mode_frequency(mus[0], a, kk, k);
    mus.iter()
        .map(|&m| mode_frequency(m, a, kk, k) / f1)
        .collect()
}

/// Independent reference for the lowest eigenvalues of `maps`' operator:
/// Lanczos with full re-orthogonalisation over up to `max_steps` steps
/// (all of them for small bodies, which makes it exact), from a start vector
/// unlike the library's. Rigid modes are included (as ~0).
fn reference_eigenvalues(maps: &BodyMaps, count: usize, max_steps: usize) -> Vec<f64> {
    lowest_eigenvalues_with(maps, count, max_steps, |i| {
        1.0 + ((i * 7919 + 13) % 101) as f64 / 101.0 - 0.5 * ((i * 31) % 7) as f64 / 7.0
    })
}

// ---------------------------------------------------------------------------
// The instruments
// ---------------------------------------------------------------------------

/// Circular membrane: a 64×64 disc, fixed rim, uniform tension.
fn drum() -> Design {
    let n = 64;
    let r0 = disc_radius(n);
    Design {
        name: "drum",
        description:
            "Circular membrane (64-node disc, fixed rim), struck off-centre with a felt stick; \
                      gently damped, highs die faster."
                .into(),
        family: "membrane",
        width: n,
        height: n,
        reference_note: 45.0,
        boundary: Boundary::FIXED,
        sigma1: 4.0,
        support_hz: 0.0,
        release_t60: None,
        excitation: strike(0.36, 0.40, 0.10, 2.0),
        pickups: pickups([0.30, 0.62], [0.70, 0.35]),
        stiffness: vec![1.0; n * n],
        sigma0: grid(n, n, |x, y| {
            let (r, _) = polar(n, x, y);
            (2.0 + 2.0 * (r / r0).powi(4)) as f32
        }),
        mask: grid(n, n, |x, y| if polar(n, x, y).0 < r0 { BODY } else { VOID }),
        source:
            "disc mask r < 31.75 about (31.5, 31.5); s = 1; σ₀ = 2 + 2(r/R)⁴ 1/s (the rim damps a \
                 little more)"
                .into(),
    }
}

/// Smaller, higher, more damped membrane with a muffling ring at the rim.
fn tom() -> Design {
    let n = 44;
    let r0 = disc_radius(n);
    Design {
        name: "tom",
        description:
            "Small tom: 44-node disc membrane, fixed rim, tuned higher and damped harder, \
                      with a muffling ring near the rim; struck with a stick."
                .into(),
        family: "membrane",
        width: n,
        height: n,
        reference_note: 52.0,
        boundary: Boundary::FIXED,
        sigma1: 8.0,
        support_hz: 0.0,
        release_t60: None,
        excitation: strike(0.38, 0.42, 0.09, 1.2),
        pickups: pickups([0.32, 0.60], [0.66, 0.36]),
        stiffness: vec![1.0; n * n],
        sigma0: grid(n, n, |x, y| {
            let (r, _) = polar(n, x, y);
            (5.0 + 20.0 * smoothstep((r / r0 - 0.75) / 0.25)) as f32
        }),
        mask: grid(n, n, |x, y| if polar(n, x, y).0 < r0 { BODY } else { VOID }),
        source:
            "disc mask r < 21.75; s = 1; σ₀ = 5 + 20·smoothstep((r/R − 0.75)/0.25) 1/s (muffling \
                 ring)"
                .into(),
    }
}

/// The marimba bar for an end stiffness `s_end` (see [`marimba`]).
fn marimba_design(s_end: f64) -> Design {
    let (w, h) = (64usize, 16usize);
    let c = (w as f64 - 1.0) / 2.0;
    let arch = 0.65 * w as f64 / 2.0; // half-length of the undercut, nodes
    let thin = 3.0; // thickness at the centre, nodes
                    // t = 0 at the centre, 1 at and beyond the ends of the arch.
    let t = move |x: f64| ((x - c).abs() / arch).min(1.0);
    Design {
        name: "marimba",
        description: format!(
            "Marimba bar: free-free 64×16 bar seen from the side, undercut by a parabolic arch and \
             with heavy ends, tuned so its first overtone is {MARIMBA_RATIO}× the fundamental \
             (design ratio 1:{MARIMBA_RATIO}); hard mallet."
        ),
        family: "bar",
        width: w,
        height: h,
        reference_note: 45.0,
        boundary: Boundary::FREE,
        sigma1: 100.0,
        support_hz: 20.0,
        release_t60: None,
        // A released displacement rather than a force pulse: a struck free
        // body rings its support mode (see docs/instruments.md).
        excitation: pluck(0.30, 0.05, 0.30),
        pickups: pickups([0.10, 0.10], [0.32, 0.10]),
        stiffness: grid(w, h, |x, _| (1.0 - (1.0 - s_end) * t(x) * t(x)) as f32),
        sigma0: grid(w, h, |x, _| (1.5 + 2.5 * (1.0 - t(x) * t(x))) as f32),
        mask: grid(w, h, |x, y| {
            let thickness = thin + (h as f64 - thin) * t(x) * t(x);
            if y < thickness - 1e-9 {
                BODY
            } else {
                VOID
            }
        }),
        source: format!(
            "side elevation, flat top (y = 0), underside arch: body where y < 3 + 13·t², \
             t = min(|x − 31.5|/20.8, 1); s = 1 − (1 − s_end)·t² with s_end = {s_end:.5} found by \
             bisection for f2/f1 = {MARIMBA_RATIO} at the reference note; σ₀ = 1.5 + 2.5(1 − t²) 1/s"
        ),
    }
}

/// f2/f1 of a design's level 0 at its reference note, from the library's
/// eigenvalues exactly as the instrument will compute them.
fn overtone_ratio(d: &Design) -> f64 {
    let modes = elastic(&lowest_eigenvalues(&d.maps(), 8));
    ratios_at(&modes, d.reference_note, d.support_hz, 1)[1]
}

/// Finds `param` in `[lo, hi]` with `ratio(param) = target`, where `ratio`
/// falls as `param` grows: steps down from `hi` by 10% until the target is
/// passed (the first crossing from the uniform end, so a poorly resolved
/// extreme design never enters), then bisects in log scale.
fn bisect_log(lo: f64, hi: f64, target: f64, ratio: impl Fn(f64) -> f64) -> f64 {
    assert!(ratio(hi) < target, "ratio already above {target} at {hi}");
    let mut below = hi;
    let mut above = hi;
    while ratio(above) < target {
        below = above;
        above *= 0.9;
        assert!(above >= lo, "ratio {target} not reached down to {lo}");
    }
    let (mut a, mut b) = (above.ln(), below.ln());
    for _ in 0..40 {
        let m = 0.5 * (a + b);
        if ratio(m.exp()) > target {
            a = m;
        } else {
            b = m;
        }
    }
    // Rounded so the file and the docs carry a tidy number.
    ((0.5 * (a + b)).exp() * 1e5).round() / 1e5
}

/// A free-free marimba bar tuned by its stiffness profile to 1 : 4.
///
/// In this membrane model a uniform free-free bar has modes 1 : 2 : 3 (the
/// lowest elastic mode is antisymmetric, a node at the centre). Cutting a
/// thin neck under the centre (the marimba's undercut arch) makes the two
/// halves rock on a soft spring, and heavy ends lower that rocking mode
/// further while the neck's own mode stays put: the end stiffness `s_end`
/// moves f2/f1 continuously from ≈3.3 (uniform) upward, and a bisection
/// puts it at 4.
fn marimba() -> Design {
    let s_end = bisect_log(0.05, 1.0, MARIMBA_RATIO, |s| {
        overtone_ratio(&marimba_design(s))
    });
    marimba_design(s_end)
}

/// A harmonic string: 1D, fixed ends, uniform.
fn string() -> Design {
    let w = 192;
    Design {
        name: "string",
        description: "Plucked string: 192-node 1D string with fixed ends and uniform stiffness \
                      (harmonic partials), lightly damped, stops when released."
            .into(),
        family: "string",
        width: w,
        height: 1,
        reference_note: 40.0,
        boundary: Boundary::FIXED,
        sigma1: 20.0,
        support_hz: 0.0,
        release_t60: Some(0.25),
        excitation: pluck(0.16, 0.0, 0.06),
        pickups: pickups([0.08, 0.0], [0.88, 0.0]),
        stiffness: vec![1.0; w],
        sigma0: vec![0.75; w],
        mask: vec![BODY; w],
        source:
            "height 1 (1D Laplacian), s = 1, σ₀ = 0.75 1/s, σ₁ = 20; pluck at 0.16 of the length"
                .into(),
    }
}

/// Tip stiffness of the tine: its mass grows toward the free tip.
const TINE_TIP_STIFFNESS: f64 = 0.08;

/// A kalimba tine: 1D, clamped at the left, free at the right, its mass
/// graded toward the tip (stiffness falling as u²), which spreads the
/// overtones: 1 : 3.80 : 6.45 : 9.07 on the full mesh (1 : 3.76 : 6.35 :
/// 8.88 on the 16-node level that plays the reference note) instead of the
/// uniform fixed-free 1 : 3 : 5 : 7.
fn tine() -> Design {
    let w = 64;
    let s_tip = TINE_TIP_STIFFNESS;
    let u = move |x: f64| x / (w as f64 - 1.0);
    Design {
        name: "tine",
        description: "Kalimba tine: 64-node 1D strip clamped at the left and free at the right, its \
                      mass graded toward the tip for bright inharmonic overtones; plucked at the tip."
            .into(),
        family: "tine",
        width: w,
        height: 1,
        reference_note: 67.0,
        boundary: boundary(Edge::Fixed, Edge::Free, Edge::Fixed, Edge::Fixed, Edge::Fixed),
        sigma1: 10.0,
        support_hz: 0.0,
        release_t60: None,
        excitation: pluck(0.92, 0.0, 0.10),
        pickups: pickups([0.45, 0.0], [0.70, 0.0]),
        stiffness: grid(w, 1, |x, _| (1.0 - (1.0 - s_tip) * u(x).powi(2)) as f32),
        sigma0: grid(w, 1, |x, _| (1.2 + 0.6 * u(x)) as f32),
        mask: vec![BODY; w],
        source: format!(
            "1D, left fixed, right free; s = 1 − (1 − {s_tip})·u², u = x/63; σ₀ = 1.2 + 0.6u 1/s"
        ),
    }
}

/// Rectangular plate-like body with mixed edges and an uneven stiffness.
fn plate() -> Design {
    let (w, h) = (64usize, 48usize);
    let tau = 2.0 * std::f64::consts::PI;
    Design {
        name: "plate",
        description: "Plate: 64×48 rectangle, left and top edges fixed, right and bottom free, \
                      uneven stiffness for a dense inharmonic spectrum; long decay."
            .into(),
        family: "plate",
        width: w,
        height: h,
        reference_note: 43.0,
        boundary: boundary(
            Edge::Fixed,
            Edge::Free,
            Edge::Fixed,
            Edge::Free,
            Edge::Fixed,
        ),
        sigma1: 0.8,
        support_hz: 0.0,
        release_t60: None,
        excitation: strike(0.31, 0.63, 0.05, 0.6),
        pickups: pickups([0.22, 0.30], [0.77, 0.72]),
        stiffness: grid(w, h, |x, y| {
            let (u, v) = (x / (w - 1) as f64, y / (h - 1) as f64);
            let g = 0.5 * (tau * (1.3 * u + 0.4 * v) + 0.7).cos()
                + 0.3 * (tau * (0.5 * u - 1.7 * v) + 1.9).cos()
                + 0.2 * (tau * (2.3 * u + 1.1 * v) + 0.3).cos();
            (0.55 + 0.45 * (0.5 + 0.5 * g)) as f32
        }),
        sigma0: vec![0.5; w * h],
        mask: vec![BODY; w * h],
        source:
            "s = 0.55 + 0.45·(0.5 + 0.5g), g = 0.5cos(2π(1.3u + 0.4v) + 0.7) + 0.3cos(2π(0.5u − \
                 1.7v) + 1.9) + 0.2cos(2π(2.3u + 1.1v) + 0.3), u = x/63, v = y/47; σ₀ = 0.5 1/s"
                .into(),
    }
}

/// A gong: fixed-rim disc with a heavy central boss and hammered unevenness.
fn gong() -> Design {
    let n = 64;
    let r0 = disc_radius(n);
    Design {
        name: "gong",
        description: "Bossed gong: 64-node disc, rim held by its flange, heavy central boss and \
                      hammered unevenness (beating partials); very long decay, soft beater."
            .into(),
        family: "gong",
        width: n,
        height: n,
        reference_note: 38.0,
        boundary: Boundary::FIXED,
        sigma1: 0.3,
        support_hz: 0.0,
        release_t60: None,
        excitation: strike(0.50, 0.46, 0.18, 5.0),
        pickups: pickups([0.25, 0.30], [0.72, 0.70]),
        stiffness: grid(n, n, |x, y| {
            let (r, th) = polar(n, x, y);
            let radial = 0.4 + 0.6 * smoothstep((r / r0 - 0.15) / 0.30);
            (radial * (0.94 + 0.06 * (3.0 * th + 0.5).cos())) as f32
        }),
        sigma0: vec![0.25; n * n],
        mask: grid(n, n, |x, y| if polar(n, x, y).0 < r0 { BODY } else { VOID }),
        source:
            "disc r < 31.75; s = (0.4 + 0.6·smoothstep((r/R − 0.15)/0.3))·(0.94 + 0.06cos(3θ + \
                 0.5)); σ₀ = 0.25 1/s"
                .into(),
    }
}

/// A metal ring: an annulus held at its outer rim, free at its inner edge.
fn ring() -> Design {
    let n = 64;
    let r0 = disc_radius(n);
    let ri = 14.0;
    Design {
        name: "ring",
        description:
            "Struck metal ring: 64-node annulus (hole radius 14) clamped at its outer rim, \
                      free at the hole, slightly oval stiffness; bright, shimmering clusters."
                .into(),
        family: "ring",
        width: n,
        height: n,
        reference_note: 57.0,
        boundary: Boundary::FREE,
        sigma1: 0.5,
        support_hz: 0.0,
        release_t60: None,
        excitation: strike(0.82, 0.55, 0.05, 0.4),
        pickups: pickups([0.20, 0.40], [0.60, 0.16]),
        stiffness: grid(n, n, |x, y| {
            let (_, th) = polar(n, x, y);
            (1.0 - 0.25 * (0.5 + 0.5 * (2.0 * th + 0.3).cos())) as f32
        }),
        sigma0: vec![0.875; n * n],
        mask: grid(n, n, |x, y| {
            let (r, _) = polar(n, x, y);
            if r >= r0 {
                VOID
            } else if r >= r0 - 1.5 {
                CLAMP
            } else if r >= ri {
                BODY
            } else {
                VOID
            }
        }),
        source: "mask: clamp for 30.25 ≤ r < 31.75, body for 14 ≤ r < 30.25, void elsewhere (void \
                 edges free); s = 1 − 0.25(0.5 + 0.5cos(2θ + 0.3)); σ₀ = 0.875 1/s"
            .into(),
    }
}

/// A bell: a disc clamped at its crown (centre), free at its heavy lip.
fn bell() -> Design {
    let n = 64;
    let r0 = disc_radius(n);
    let hub = 6.0;
    Design {
        name: "bell",
        description: "Bell: 64-node disc clamped at its crown (hub radius 6), free heavy lip, \
                      slightly out of round; struck at the lip, rings long."
            .into(),
        family: "bell",
        width: n,
        height: n,
        reference_note: 55.0,
        boundary: Boundary::FREE,
        sigma1: 0.6,
        support_hz: 0.0,
        release_t60: None,
        excitation: strike(0.92, 0.50, 0.06, 0.8),
        pickups: pickups([0.10, 0.50], [0.50, 0.90]),
        stiffness: grid(n, n, |x, y| {
            let (r, th) = polar(n, x, y);
            let rn = r / r0;
            ((1.0 - 0.5 * rn * rn) * (0.97 + 0.03 * (2.0 * th).cos())) as f32
        }),
        sigma0: vec![0.25; n * n],
        mask: grid(n, n, |x, y| {
            let (r, _) = polar(n, x, y);
            if r >= r0 {
                VOID
            } else if r < hub {
                CLAMP
            } else {
                BODY
            }
        }),
        source: "mask: clamp for r < 6, body for r < 31.75 (void edges free); s = (1 − 0.5(r/R)²)·\
                 (0.97 + 0.03cos 2θ); σ₀ = 0.25 1/s"
            .into(),
    }
}

// ---------------------------------------------------------------------------
// Checks and measurements
// ---------------------------------------------------------------------------

fn render(inst: &Arc<Instrument>, note: f64, velocity: f32, seconds: f64) -> StereoBuffer {
    let spec = NoteSpec {
        request: NoteRequest::new(note, velocity),
        duration: seconds,
        release_at: None,
    };
    render_note_cpu(inst, &spec, RenderSettings::default())
        .unwrap_or_else(|e| panic!("{}: note {note}: {e}", inst.name()))
}

fn is_finite(b: &StereoBuffer) -> bool {
    b.left.iter().chain(&b.right).all(|v| v.is_finite())
}

/// T60 from the decay of the 10 ms energy envelope after the attack
/// (least-squares line through the dB envelope, 0.1 s after the peak to
/// the end or to −90 dB).
fn t60_estimate(b: &StereoBuffer) -> f64 {
    let frame = (0.01 * b.sample_rate as f64) as usize;
    let env: Vec<f64> = b
        .left
        .chunks(frame)
        .zip(b.right.chunks(frame))
        .map(|(l, r)| {
            let e: f64 = l.iter().chain(r).map(|&v| (v as f64) * (v as f64)).sum();
            e / (2 * l.len()) as f64
        })
        .collect();
    let (peak_i, peak) = env
        .iter()
        .enumerate()
        .fold((0, 0.0f64), |m, (i, &e)| if e > m.1 { (i, e) } else { m });
    let pts: Vec<(f64, f64)> = env
        .iter()
        .enumerate()
        .skip(peak_i + 10)
        .filter(|(_, &e)| e > peak * 1e-9)
        .map(|(i, &e)| (i as f64 * 0.01, 10.0 * e.log10()))
        .collect();
    if pts.len() < 10 {
        return f64::NAN;
    }
    let nf = pts.len() as f64;
    let (mx, my) = (
        pts.iter().map(|p| p.0).sum::<f64>() / nf,
        pts.iter().map(|p| p.1).sum::<f64>() / nf,
    );
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx) * (p.0 - mx)).sum();
    let slope = sxy / sxx; // dB per second
    if slope >= 0.0 {
        f64::INFINITY
    } else {
        -60.0 / slope
    }
}

/// Gain rounded to four significant digits (tidy, stable files).
fn round_sig(v: f64) -> f64 {
    let e = 10f64.powi(3 - v.abs().log10().floor() as i32);
    (v * e).round() / e
}

/// One line of the summary table.
struct Row {
    name: &'static str,
    mesh: String,
    note: f64,
    level: usize,
    ratios: Vec<f64>,
    peak: f32,
    t60: f64,
    render_1s: f64,
    load_s: f64,
}

/// Builds, checks, measures and writes one instrument.
fn make(d: Design, out_dir: &Path) -> Row {
    let name = d.name;
    // 1. Validate at unit gain and measure the reference note.
    let t = Instant::now();
    let probe = Arc::new(
        Instrument::from_file(d.file(1.0), name)
            .unwrap_or_else(|e| panic!("{name}: refused by from_file: {e}")),
    );
    let load_s = t.elapsed().as_secs_f64();
    let raw = render(&probe, d.reference_note, 0.8, 2.0);
    assert!(is_finite(&raw), "{name}: non-finite reference render");
    assert!(raw.peak() > 0.0, "{name}: silent reference note");
    // Loudness across the range at velocity 1 (the loudest case): the gain
    // that puts the reference note at −6 dBFS must not push any note over
    // full scale, so it is capped at 0.98 / (loudest note).
    let mut sweep: Vec<(f64, f32)> = (24..=108)
        .map(|n| n as f64)
        .map(|note| {
            let b = render(&probe, note, 1.0, 1.0);
            assert!(is_finite(&b), "{name}: note {note} not finite");
            // No growth: the last quarter second stays below the second.
            let window = |from: f64, to: f64| {
                let (i, j) = ((from * SAMPLE_RATE) as usize, (to * SAMPLE_RATE) as usize);
                b.left[i..j]
                    .iter()
                    .chain(&b.right[i..j])
                    .fold(0.0f32, |m, v| m.max(v.abs()))
            };
            let (early, late) = (window(0.25, 0.5), window(0.75, 1.0));
            assert!(
                late <= 1.5 * early,
                "{name}: note {note} grows ({early:.3e} → {late:.3e}): numerically unstable"
            );
            (note, b.peak())
        })
        .collect();
    sweep.sort_by(|a, b| a.0.total_cmp(&b.0));
    if std::env::var_os("MAKE_BANK_DEBUG").is_some() {
        for (n, p) in &sweep {
            let plan = probe.plan(*n, 0.0, SAMPLE_RATE).expect("plays");
            println!(
                "    sweep {name} note {n}: peak {p:.3e} level {} M {}",
                plan.level, plan.oversample
            );
        }
    }
    let (loud_note, loudest) =
        sweep
            .iter()
            .copied()
            .fold((0.0, 0.0f32), |m, (n, p)| if p > m.1 { (n, p) } else { m });
    let quietest = sweep.iter().map(|x| x.1).fold(f32::INFINITY, f32::min);
    let want = (TARGET_PEAK / raw.peak()) as f64;
    let cap = (HEADROOM_PEAK / loudest) as f64;
    let gain = round_sig(want.min(cap));
    println!(
        "  {name:<8} loudness at unit gain, v1.0, every note 24–108: {quietest:.3e} .. {loudest:.3e} \
         (spread {:.1} dB, loudest at note {loud_note}); reference note v0.8: {:.3e}{}",
        20.0 * (loudest / quietest).log10(),
        raw.peak(),
        if cap < want {
            format!(
                "; gain capped by the loudest note: reference peak {:.2} instead of {TARGET_PEAK}",
                raw.peak() as f64 * gain
            )
        } else {
            String::new()
        }
    );

    // 2. The real instrument.
    let file = d.file(gain);
    let inst = Arc::new(Instrument::from_file(file.clone(), name).expect("validated above"));
    let reference = render(&inst, d.reference_note, 0.8, 2.0);
    let peak = reference.peak();
    let t60 = t60_estimate(&reference);

    // 3. Range checks.
    let mut line = format!("  {name:<8} peaks v0.8:");
    for note in [24.0, 48.0, 72.0, 96.0, 108.0] {
        let b = render(&inst, note, 0.8, 1.0);
        let p = b.peak();
        assert!(is_finite(&b), "{name}: note {note} not finite");
        assert!(p <= 1.0, "{name}: note {note} peaks at {p} > 1.0");
        line += &format!(" {note:.0}:{p:.3}");
    }
    line += "  v1.0:";
    for note in [24.0, 47.0, 66.0, 85.0, 108.0] {
        let b = render(&inst, note, 1.0, 0.25);
        let p = b.peak();
        assert!(is_finite(&b), "{name}: note {note} (v 1.0) not finite");
        assert!(
            p > 1e-4 && p <= 1.0,
            "{name}: note {note} (v 1.0) peaks at {p}"
        );
        line += &format!(" {note:.0}:{p:.3}");
    }
    println!("{line}");

    // 4. Modes at the reference note, library against reference solver.
    let plan = inst
        .plan(d.reference_note, 0.0, SAMPLE_RATE)
        .expect("reference note plays");
    let lv = &inst.levels[plan.level];
    let lib = elastic(&lv.modes);
    let refm = elastic(&reference_eigenvalues(&lv.maps, CHECK_MODES + 4, 700));
    let rel = (lib[0] - refm[0]).abs() / refm[0];
    if rel > 1e-6 {
        println!(
            "  WARNING {name}: library μ₁ = {:.6e} differs from the reference {:.6e} ({:.1e} relative): \
             the note is mistuned by {:.2} cents",
            lib[0],
            refm[0],
            rel,
            1200.0 * (lib[0] / refm[0]).log2() / 2.0
        );
    }
    let lib_r = ratios_at(&lib, d.reference_note, d.support_hz, plan.oversample);
    let ref_r = ratios_at(&refm, d.reference_note, d.support_hz, plan.oversample);
    let fmt = |v: &[f64]| {
        v.iter()
            .take(CHECK_MODES)
            .map(|x| format!("{x:.3}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    println!(
        "  {name:<8} level {} ({}×{}, M = {}): modes lib [{}] reference [{}]",
        plan.level,
        lv.maps.body.width,
        lv.maps.body.height,
        plan.oversample,
        fmt(&lib_r),
        fmt(&ref_r)
    );

    // 5. Render time of 1 s at the reference note.
    let t = Instant::now();
    let _ = render(&inst, d.reference_note, 0.8, 1.0);
    let render_1s = t.elapsed().as_secs_f64();

    // 6. Write, then read back through the loader.
    let path = out_dir.join(format!("{name}.json"));
    let text = serde_json::to_string_pretty(&file).expect("serialises") + "\n";
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let back = Instrument::load(&path).unwrap_or_else(|e| panic!("reload: {e}"));
    assert_eq!(back.file, file, "{name}: file does not round-trip");

    Row {
        name,
        mesh: format!("{}×{}", d.width, d.height),
        note: d.reference_note,
        level: plan.level,
        ratios: ref_r,
        peak,
        t60,
        render_1s,
        load_s,
    }
}

/// Prints f2/f1 of every pyramid level of the marimba (the design holds
/// exactly on the full mesh; coarser levels play the high notes).
fn marimba_report(d: &Design) {
    let inst = Instrument::from_file(d.file(1.0), d.name).expect("marimba loads");
    print!("  marimba f2/f1 per pyramid level (at each level's own tuning):");
    for lv in &inst.levels {
        let e = elastic(&lv.modes);
        let r = (e[1] / e[0]).sqrt();
        print!(" {}×{}: {r:.3}", lv.maps.body.width, lv.maps.body.height);
    }
    println!();
    for (note, label) in [
        (24.0, "24"),
        (45.0, "45"),
        (60.0, "60"),
        (84.0, "84"),
        (108.0, "108"),
    ] {
        let p = inst.plan(note, 0.0, SAMPLE_RATE).expect("plays");
        let e = elastic(&inst.levels[p.level].modes);
        let r = ratios_at(&e, note, d.support_hz, p.oversample);
        println!(
            "    note {label:>3}: level {} M {} f2/f1 = {:.3}",
            p.level, p.oversample, r[1]
        );
    }
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out_dir = root.join("instruments");
    std::fs::create_dir_all(&out_dir).expect("instruments folder");

    println!("designing ...");
    let m = marimba();
    let achieved = overtone_ratio(&m);
    println!(
        "  marimba: end stiffness {:.5} → f2/f1 = {achieved:.4} at note {} (design {MARIMBA_RATIO}, \
         error {:+.2}%)",
        m.stiffness[0],
        m.reference_note,
        100.0 * (achieved / MARIMBA_RATIO - 1.0)
    );
    println!(
        "  marimba: with uniform stiffness (s_end = 1) the same arch gives f2/f1 = {:.4}",
        overtone_ratio(&marimba_design(1.0))
    );
    assert!((achieved / MARIMBA_RATIO - 1.0).abs() < 0.03);
    marimba_report(&m);
    let t = tine();

    let designs = vec![
        drum(),
        m,
        string(),
        gong(),
        plate(),
        t,
        tom(),
        ring(),
        bell(),
    ];
    println!("checking and writing ...");
    let rows: Vec<Row> = designs.into_iter().map(|d| make(d, &out_dir)).collect();

    println!();
    println!(
        "{:<8} {:>7} {:>4} {:>3} {:<27} {:>6} {:>7} {:>9} {:>7}",
        "name", "mesh", "ref", "lvl", "modes f/f1 (first 4)", "peak", "T60 s", "1 s rend", "load s"
    );
    for r in &rows {
        let modes = r
            .ratios
            .iter()
            .take(4)
            .map(|x| format!("{x:.3}"))
            .collect::<Vec<_>>()
            .join(" ");
        println!(
            "{:<8} {:>7} {:>4} {:>3} {:<27} {:>6.3} {:>7.2} {:>7.3} s {:>7.2}",
            r.name, r.mesh, r.note, r.level, modes, r.peak, r.t60, r.render_1s, r.load_s
        );
    }
    println!(
        "\nwrote {} instruments to {}",
        rows.len(),
        out_dir.display()
    );
}
