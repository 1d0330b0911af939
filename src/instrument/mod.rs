//! Instruments: the validated, in-memory form of an instrument file, its
//! mesh pyramid, and the planning of a note (mesh level, oversampling,
//! scheme parameters and stability certificate).
//!
//! # Pitch design
//!
//! A note sets the wave speed: `a = c²k²` is chosen so that the body's lowest
//! elastic mode sits exactly at the note's frequency, using the discrete
//! dispersion relation `4 sin²(πfk) = a·μ₁ + κk²` with the body's computed
//! eigenvalue `μ₁` (so tuning is exact, dispersion included). Relative to
//! the reference note this is `c = c_ref·2^((n − ref)/12)` up to the
//! dispersion correction.
//!
//! The Courant limit caps the pitch a mesh can play (about 370 Hz for a
//! 64×64 square at 48 kHz). Each instrument therefore keeps a *pyramid*:
//! the full mesh and versions downsampled by two (64², 32², 16², 8²),
//! built at load. A note uses the finest level whose certificate holds at
//! one sample per step; above what the coarsest level can play it runs that
//! level with `M` steps per output sample (oversampling, up to
//! [`MAX_OVERSAMPLE`], pickups averaged over the `M` steps). Cost per voice
//! in node updates per output sample is `M × nodes(level)`: a high note on
//! a coarse level is *cheaper* than a low note on the full mesh, so the
//! worst case is a low note (the full mesh).

pub mod bank;
pub mod format;
pub mod kan;
pub mod lookup;
pub mod radiation;

use std::path::Path;

use crate::physics::body::{Body, NodeKind};
use crate::physics::certificate::{row_bound, Certificate, RowBound};
use crate::physics::modes::{self, lowest_eigenvalues, RIGID_MODE_EPS};
use crate::physics::scheme::{BodyMaps, SchemeParams};
use format::{InstrumentFile, FORMAT_TAG, FORMAT_VERSION};

/// Most steps per output sample a voice may take.
pub const MAX_OVERSAMPLE: u32 = 8;
/// Share of the stability limit a planned note may use (the rest is margin).
pub const PLAN_SAFETY: f64 = 0.98;
/// Lowest note every instrument must play.
pub const LOWEST_NOTE: f64 = 24.0;
/// Highest note every instrument must play.
pub const HIGHEST_NOTE: f64 = 108.0;
/// Largest mesh side accepted.
pub const MAX_MESH: usize = 256;
/// T60 of a note-off on an instrument whose file states none, seconds:
/// every release raises damping.
pub const DEFAULT_RELEASE_T60: f64 = 1.0;
/// The longest release T60 a note-off uses (a file's longer one is capped), seconds.
pub const MAX_RELEASE_T60: f64 = 17.0;
/// A released voice ends within this unless its instrument's release
/// rings longer, seconds.
pub const RELEASE_LIMIT: f64 = 10.0;
/// No released voice rings longer than this, seconds.
pub const MAX_RELEASE_LIMIT: f64 = 30.0;
/// Decay a released voice needs to fall silent (from full scale to the
/// engine's −100 dBFS end threshold), dB.
const RELEASE_RING_DB: f64 = 100.0;

/// What a note-off does to a voice of an instrument.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReleaseSpec {
    /// The T60 the release damping gives on its own, seconds.
    pub t60: f64,
    /// A released voice that still sounds after this many seconds fades out
    /// (5 ms) and ends: [`RELEASE_LIMIT`], or longer when the release T60
    /// rings longer, never above [`MAX_RELEASE_LIMIT`].
    pub limit: f64,
}

impl ReleaseSpec {
    /// The release for a file's `physics.release_t60` (`None`: the default).
    pub fn new(release_t60: Option<f64>) -> Self {
        let t60 = release_t60
            .unwrap_or(DEFAULT_RELEASE_T60)
            .min(MAX_RELEASE_T60);
        // Time to fall RELEASE_RING_DB at that T60, plus the engine's
        // silence hold and a margin.
        let ring = t60 * RELEASE_RING_DB / 60.0 + 0.5;
        Self {
            t60,
            limit: ring.clamp(RELEASE_LIMIT, MAX_RELEASE_LIMIT),
        }
    }

    /// The extra σ₀ (1/s) that gives [`ReleaseSpec::t60`]: ln(1000)/T60.
    pub fn sigma0(&self) -> f64 {
        6.907_755 / self.t60
    }
}
/// Number of modes kept per level for inspection.
const MODES_KEPT: usize = 8;

/// Frequency of MIDI note `n` (A4 = 440 Hz).
pub fn note_to_hz(n: f64) -> f64 {
    440.0 * 2f64.powf((n - 69.0) / 12.0)
}

/// Why an instrument was refused, naming the file and the field.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
#[error("{file}: {field}: {reason}")]
pub struct InstrumentError {
    /// The file (or the instrument's name when not from a file).
    pub file: String,
    /// The field at fault (`maps.stiffness`, `version`, ...).
    pub field: String,
    /// What is wrong and why.
    pub reason: String,
    /// Which kind of fault.
    pub kind: FaultKind,
}

/// Kinds of instrument faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// The file cannot be read.
    Io,
    /// Not valid JSON or not the expected structure.
    Syntax,
    /// Wrong `format` tag or unsupported `version`.
    Version,
    /// A map or mesh of the wrong size.
    Size,
    /// NaN or infinity.
    NotFinite,
    /// A value outside its documented range.
    OutOfRange,
    /// No stable scheme exists for some playable note.
    Unstable,
}

/// Why a note cannot be planned ([`Instrument::plan`]).
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum PlanError {
    /// The note is not finite, or above what any level can play.
    #[error("note {note} is out of range")]
    OutOfRange {
        /// The note.
        note: f64,
    },
    /// The note lies below the support spring's frequency.
    #[error("note {note} lies below the support spring ({support_hz} Hz)")]
    BelowSupport {
        /// The note.
        note: f64,
        /// The instrument's `physics.support_hz`.
        support_hz: f64,
    },
    /// No level and oversampling keeps the certificate.
    #[error(
        "unstable: note {top:.2} needs (a+2b)·r + κk² = {value:.3} > {limit:.2} even on the {width}×{height} mesh at {oversample}× oversampling (worst node {worst_node:?}, stiffness range too wide or σ₁ too high)"
    )]
    Unstable {
        /// The highest note asked for (note + headroom).
        top: f64,
        /// The certificate's value on the last candidate.
        value: f64,
        /// The value it must stay below.
        limit: f64,
        /// The last candidate level's mesh width.
        width: usize,
        /// Its mesh height.
        height: usize,
        /// Its steps per sample.
        oversample: u32,
        /// Its worst node.
        worst_node: (usize, usize),
    },
}

/// One resolution of an instrument's body.
#[derive(Clone, Debug)]
pub struct Level {
    /// Padded maps at this resolution.
    pub maps: BodyMaps,
    /// Gershgorin row bound (for the certificate).
    pub bound: RowBound,
    /// Lowest eigenvalues (ascending, rigid modes included as ~0).
    pub modes: Vec<f64>,
    /// Eigenvalue of the lowest elastic mode (the fundamental).
    pub fundamental_mu: f64,
    /// σ₁ scale at this level: grid eigenvalues grow 4× per halving.
    pub sigma1_scale: f64,
}

/// A validated instrument, ready to play.
#[derive(Debug)]
pub struct Instrument {
    /// The file it was loaded from (or built as), kept for saving and inspection.
    pub file: InstrumentFile,
    /// Mesh pyramid, finest first.
    pub levels: Vec<Level>,
}

/// How one note is played.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NotePlan {
    /// Pyramid level (0 = full mesh).
    pub level: usize,
    /// Steps per output sample.
    pub oversample: u32,
    /// Scheme parameters at the planned pitch.
    pub params: SchemeParams,
    /// Certificate at the highest pitch the plan allows (note + headroom).
    pub certificate: Certificate,
    /// Fundamental frequency, Hz.
    pub fundamental_hz: f64,
    /// Highest note this plan can play (note + headroom).
    pub max_note: f64,
}

impl NotePlan {
    /// Node updates per output sample.
    pub fn cost(&self, inst: &Instrument) -> usize {
        inst.levels[self.level].maps.body.body_nodes() * self.oversample as usize
    }
}

impl Instrument {
    /// Reads, validates and prepares an instrument file.
    pub fn load(path: &Path) -> Result<Self, InstrumentError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| InstrumentError {
            file: name.clone(),
            field: "(file)".into(),
            reason: format!("cannot read: {e}"),
            kind: FaultKind::Io,
        })?;
        Self::from_json(&text, &name)
    }

    /// Parses and validates JSON text; `origin` names it in errors.
    pub fn from_json(text: &str, origin: &str) -> Result<Self, InstrumentError> {
        let err = |field: &str, reason: String, kind| InstrumentError {
            file: origin.to_string(),
            field: field.to_string(),
            reason,
            kind,
        };
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| err("(json)", format!("not valid JSON: {e}"), FaultKind::Syntax))?;
        match value.get("format").and_then(|v| v.as_str()) {
            Some(FORMAT_TAG) => {}
            Some(other) => {
                return Err(err(
                    "format",
                    format!("is `{other}`, expected `{FORMAT_TAG}`"),
                    FaultKind::Version,
                ))
            }
            None => {
                return Err(err(
                    "format",
                    format!("missing (expected `{FORMAT_TAG}`)"),
                    FaultKind::Version,
                ))
            }
        }
        match value.get("version").and_then(|v| v.as_u64()) {
            Some(v) if v == FORMAT_VERSION as u64 => {}
            Some(v) => {
                return Err(err(
                    "version",
                    format!("unsupported version {v} (this build reads version {FORMAT_VERSION})"),
                    FaultKind::Version,
                ))
            }
            None => {
                return Err(err(
                    "version",
                    "missing or not an integer".into(),
                    FaultKind::Version,
                ))
            }
        }
        let file: InstrumentFile = serde_json::from_value(value)
            .map_err(|e| err("(structure)", e.to_string(), FaultKind::Syntax))?;
        Self::from_file(file, origin)
    }

    /// Validates an in-memory instrument file and builds the pyramid.
    pub fn from_file(file: InstrumentFile, origin: &str) -> Result<Self, InstrumentError> {
        check_scalars(&file, origin)?;
        check_shaping(&file, origin)?;
        let (body, stiffness, sigma0) = decode_body(&file, origin)?;
        let levels = build_pyramid(body, stiffness, sigma0, origin)?;
        let inst = Self { file, levels };
        // Every playable note must have a stable plan.
        for note in [inst.file.ranges.note[0], inst.file.ranges.note[1]] {
            inst.plan(note, 0.0, 48000.0)
                .map_err(|e| fault(origin, "maps", e.to_string(), FaultKind::Unstable))?;
        }
        Ok(inst)
    }

    /// What a note-off does to its voices (raised damping, time limit).
    pub fn release(&self) -> ReleaseSpec {
        ReleaseSpec::new(self.file.physics.release_t60)
    }

    /// The instrument's name.
    pub fn name(&self) -> &str {
        &self.file.name
    }

    /// Scheme parameters at `level` with `oversample` steps per sample so
    /// that the fundamental sounds at `note`.
    pub fn params(
        &self,
        level: usize,
        oversample: u32,
        note: f64,
        sample_rate: f64,
    ) -> SchemeParams {
        let lv = &self.levels[level];
        let k = 1.0 / (sample_rate * oversample as f64);
        let ph = &self.file.physics;
        let kappa_k2 = (2.0 * std::f64::consts::PI * ph.support_hz * k).powi(2);
        SchemeParams {
            a: modes::a_for_frequency(lv.fundamental_mu, note_to_hz(note), kappa_k2, k),
            b: 2.0 * ph.sigma1 * lv.sigma1_scale * k,
            kappa_k2,
            k,
        }
    }

    /// A note request with this instrument's note shaping applied (its KAN,
    /// if it has one: detune, damping, contact time, strike position and
    /// level for this note and velocity; the file's bow force and velocity,
    /// if it stores them). Callers add their own parameters
    /// on top.
    pub fn note_request(&self, note: f64, velocity: f32) -> crate::types::NoteRequest {
        let mut req = crate::types::NoteRequest::new(note, velocity);
        if let Some(f) = self.file.excitation.bow_force {
            req.bow_force = f.clamp(0.0, 1.0) as f32;
        }
        if let Some(v) = self.file.excitation.bow_velocity {
            req.bow_velocity = v.clamp(0.0, 1.0) as f32;
        }
        if let Some(k) = &self.file.kan {
            k.shape(note, velocity as f64)
                .apply(&mut req, self.file.excitation.shape);
        }
        if let Some(c) = &self.file.level_curve {
            req.gain *= 10f32.powf(c.db_at(note) as f32 / 20.0);
        }
        req
    }

    /// Plans a note: the finest level at one step per sample whose
    /// certificate holds up to `note + headroom` semitones, else the
    /// coarsest level oversampled. The error says why none is stable.
    pub fn plan(&self, note: f64, headroom: f64, sample_rate: f64) -> Result<NotePlan, PlanError> {
        let top = note + headroom.max(0.0);
        if !note.is_finite() || note_to_hz(top) >= 0.45 * sample_rate * MAX_OVERSAMPLE as f64 {
            return Err(PlanError::OutOfRange { note });
        }
        let last = self.levels.len() - 1;
        let candidates = (0..=last)
            .map(|l| (l, 1))
            .chain((2..=MAX_OVERSAMPLE).map(|m| (last, m)));
        let mut worst = None;
        for (level, m) in candidates {
            let top_params = self.params(level, m, top, sample_rate);
            if top_params.a <= 0.0 {
                return Err(PlanError::BelowSupport {
                    note,
                    support_hz: self.file.physics.support_hz,
                });
            }
            let cert = Certificate::new(self.levels[level].bound, &top_params);
            if cert.value < crate::physics::certificate::LIMIT * PLAN_SAFETY {
                let params = self.params(level, m, note, sample_rate);
                return Ok(NotePlan {
                    level,
                    oversample: m,
                    params,
                    certificate: cert,
                    fundamental_hz: note_to_hz(note),
                    max_note: top,
                });
            }
            worst = Some((level, m, cert));
        }
        let (level, m, cert) = worst.expect("at least one candidate");
        let lv = &self.levels[level];
        Err(PlanError::Unstable {
            top,
            value: cert.value,
            limit: crate::physics::certificate::LIMIT * PLAN_SAFETY,
            width: lv.maps.body.width,
            height: lv.maps.body.height,
            oversample: m,
            worst_node: cert.bound.worst_node,
        })
    }

    /// Largest padded buffer length over the pyramid (voice buffers are sized from it).
    pub fn max_buffer_len(&self) -> usize {
        self.levels
            .iter()
            .map(|l| l.maps.layout.len)
            .max()
            .unwrap_or(0)
    }
}

/// An [`InstrumentError`] of `origin` at `field`.
fn fault(origin: &str, field: &str, reason: String, kind: FaultKind) -> InstrumentError {
    InstrumentError {
        file: origin.to_string(),
        field: field.to_string(),
        reason,
        kind,
    }
}

/// `v` is finite and within `lo..=hi`.
fn check_range(origin: &str, field: &str, v: f64, lo: f64, hi: f64) -> Result<(), InstrumentError> {
    if !v.is_finite() {
        Err(fault(
            origin,
            field,
            format!("is {v}, must be a finite number"),
            FaultKind::NotFinite,
        ))
    } else if v < lo || v > hi {
        Err(fault(
            origin,
            field,
            format!("is {v}, outside {lo}..{hi}"),
            FaultKind::OutOfRange,
        ))
    } else {
        Ok(())
    }
}

/// The file's name, mesh size and scalar fields.
fn check_scalars(file: &InstrumentFile, origin: &str) -> Result<(), InstrumentError> {
    let check = |field: &str, v: f64, lo: f64, hi: f64| check_range(origin, field, v, lo, hi);
    if file.name.is_empty()
        || !file
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(fault(
            origin,
            "name",
            format!(
                "`{}` must be non-empty letters, digits, `_` or `-`",
                file.name
            ),
            FaultKind::OutOfRange,
        ));
    }
    let (w, h) = (file.mesh.width, file.mesh.height);
    if !(3..=MAX_MESH).contains(&w) || !(1..=MAX_MESH).contains(&h) || h == 2 {
        return Err(fault(
            origin,
            "mesh",
            format!("{w}×{h} is not a playable mesh (width 3..{MAX_MESH}; height 1 for a string or 3..{MAX_MESH})"),
            FaultKind::Size,
        ));
    }
    check("reference_note", file.reference_note, 0.0, 127.0)?;
    check("physics.sigma1", file.physics.sigma1, 0.0, 100.0)?;
    check("physics.support_hz", file.physics.support_hz, 0.0, 20.0)?;
    if let Some(t) = file.physics.release_t60 {
        check("physics.release_t60", t, 0.01, 60.0)?;
    }
    let e = &file.excitation;
    check("excitation.x", e.x, 0.0, 1.0)?;
    check("excitation.y", e.y, 0.0, 1.0)?;
    check("excitation.width", e.width, 0.005, 1.0)?;
    check("excitation.contact_ms", e.contact_ms, 0.05, 50.0)?;
    for (f, p) in [
        ("pickups.left", file.pickups.left),
        ("pickups.right", file.pickups.right),
    ] {
        check(f, p[0], 0.0, 1.0)?;
        check(f, p[1], 0.0, 1.0)?;
    }
    check("gain", file.gain, 1e-6, 1e6)?;
    check("ranges.note[0]", file.ranges.note[0], 0.0, LOWEST_NOTE)?;
    check("ranges.note[1]", file.ranges.note[1], HIGHEST_NOTE, 127.0)?;
    check("ranges.damping[0]", file.ranges.damping[0], 0.0, 1.0)?;
    check("ranges.damping[1]", file.ranges.damping[1], 1.0, 100.0)
}

/// The note-shaping network, the level curve and the radiation filter.
fn check_shaping(file: &InstrumentFile, origin: &str) -> Result<(), InstrumentError> {
    if let Some(k) = &file.kan {
        k.validate().map_err(|(field, reason)| {
            let kind = if reason.contains("NaN") {
                FaultKind::NotFinite
            } else if reason.contains("values, needs") || reason.contains("gives") {
                FaultKind::Size
            } else {
                FaultKind::OutOfRange
            };
            fault(origin, &field, reason, kind)
        })?;
    }
    let curve = file.level_curve.as_ref().map(|c| c.validate());
    let radiation = file.radiation.as_ref().map(|r| r.validate());
    for check in [curve, radiation].into_iter().flatten() {
        check.map_err(|(field, reason)| {
            let kind = if reason.contains("NaN") {
                FaultKind::NotFinite
            } else if reason.contains("needs") {
                FaultKind::Size
            } else {
                FaultKind::OutOfRange
            };
            fault(origin, &field, reason, kind)
        })?;
    }
    Ok(())
}

/// The file's maps decoded and checked: the body, stiffness and σ₀.
fn decode_body(
    file: &InstrumentFile,
    origin: &str,
) -> Result<(Body, Vec<f32>, Vec<f32>), InstrumentError> {
    let (w, h) = (file.mesh.width, file.mesh.height);
    let n = w * h;
    let size = |field: &'static str| {
        move |r: format::MapDecodeError| fault(origin, field, r.to_string(), FaultKind::Size)
    };
    let stiffness = file
        .maps
        .stiffness
        .decode_f32(n)
        .map_err(size("maps.stiffness"))?;
    let sigma0 = file
        .maps
        .sigma0
        .decode_f32(n)
        .map_err(size("maps.sigma0"))?;
    let mask_bytes = file.maps.mask.decode_u8(n).map_err(size("maps.mask"))?;
    let mut mask = Vec::with_capacity(n);
    for (i, &b) in mask_bytes.iter().enumerate() {
        mask.push(NodeKind::from_byte(b).ok_or_else(|| {
            fault(
                origin,
                "maps.mask",
                format!(
                    "node ({}, {}) is {b}; kinds are 0 void, 1 body, 2 clamp",
                    i % w,
                    i / w
                ),
                FaultKind::OutOfRange,
            )
        })?);
    }
    check_map_values(origin, w, &mask, &stiffness, &sigma0)?;
    let body = Body {
        width: w,
        height: h,
        mask,
        boundary: file.boundary,
    };
    if body.body_nodes() == 0 {
        return Err(fault(
            origin,
            "maps.mask",
            "has no body node".into(),
            FaultKind::OutOfRange,
        ));
    }
    Ok((body, stiffness, sigma0))
}

/// Every map value is finite, and within its range on body nodes.
fn check_map_values(
    origin: &str,
    w: usize,
    mask: &[NodeKind],
    stiffness: &[f32],
    sigma0: &[f32],
) -> Result<(), InstrumentError> {
    for (field, map, lo, hi) in [
        ("maps.stiffness", stiffness, 1e-3f32, 1.0f32),
        ("maps.sigma0", sigma0, 0.0, 200.0),
    ] {
        for (i, &v) in map.iter().enumerate() {
            let (x, y) = (i % w, i / w);
            if !v.is_finite() {
                return Err(fault(
                    origin,
                    field,
                    format!("node ({x}, {y}) is {v}"),
                    FaultKind::NotFinite,
                ));
            }
            if mask[i] == NodeKind::Body && (v < lo || v > hi) {
                return Err(fault(
                    origin,
                    field,
                    format!("node ({x}, {y}) is {v}, outside {lo}..{hi}"),
                    FaultKind::OutOfRange,
                ));
            }
        }
    }
    Ok(())
}

/// The mesh pyramid, finest first: each level halves the previous one
/// until it gets too small or has no elastic mode.
fn build_pyramid(
    body: Body,
    stiffness: Vec<f32>,
    sigma0: Vec<f32>,
    origin: &str,
) -> Result<Vec<Level>, InstrumentError> {
    let mut levels = Vec::new();
    let (mut body, mut s, mut d) = (body, stiffness, sigma0);
    let mut sigma1_scale = 1.0;
    loop {
        let maps = BodyMaps::new(body.clone(), &s, &d);
        let modes = lowest_eigenvalues(&maps, MODES_KEPT);
        let Some(&fundamental_mu) = modes.iter().find(|&&m| m > RIGID_MODE_EPS) else {
            if levels.is_empty() {
                return Err(fault(
                    origin,
                    "maps.mask",
                    "the body has no elastic mode".into(),
                    FaultKind::Unstable,
                ));
            }
            break;
        };
        levels.push(Level {
            bound: row_bound(&maps),
            maps,
            modes,
            fundamental_mu,
            sigma1_scale,
        });
        let coarse = body.downsample();
        let min_side = if coarse.height == 1 {
            coarse.width
        } else {
            coarse.width.min(coarse.height)
        };
        if min_side < 4 || coarse.width < 8 || coarse.body_nodes() < 8 {
            break;
        }
        s = body.downsample_map(&s, &coarse);
        d = body.downsample_map(&d, &coarse);
        body = coarse;
        sigma1_scale *= 0.25;
    }
    Ok(levels)
}
