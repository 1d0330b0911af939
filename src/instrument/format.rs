//! The instrument file format, version 1 (JSON).
//!
//! Human-readable metadata with compact maps. A map is either a constant
//! number or `{"encoding": "f32le-base64", "data": "..."}` (row-major,
//! `width × height` little-endian f32). The mask is a constant (1: the whole
//! grid is body) or `{"encoding": "u8-base64", ...}` with one byte per node:
//! 0 void, 1 body, 2 clamp. The full reference is `docs/instrument-format.md`.

use base64::Engine as _;
use serde::{Deserialize, Serialize};

pub use crate::types::ExciteShape;

use crate::physics::body::Boundary;

/// The value of the `format` field.
pub const FORMAT_TAG: &str = "neirosynth-instrument";
/// The file-format version this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// An instrument file as stored on disk (before validation).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct InstrumentFile {
    /// Always [`FORMAT_TAG`].
    pub format: String,
    /// File-format version ([`FORMAT_VERSION`]).
    pub version: u32,
    /// Unique name in a bank (letters, digits, `_`, `-`).
    pub name: String,
    /// One-line description.
    pub description: String,
    /// Family: membrane, bar, string, plate, bell, tine, ...
    pub family: String,
    /// Mesh size.
    pub mesh: MeshSpec,
    /// MIDI note whose pitch the body's lowest elastic mode has at its natural tuning.
    pub reference_note: f64,
    /// Edge conditions.
    #[serde(default)]
    pub boundary: Boundary,
    /// Scalar physics.
    pub physics: PhysicsSpec,
    /// Default excitation.
    pub excitation: ExcitationSpec,
    /// Default pickups.
    pub pickups: PickupSpec,
    /// Output gain (linear).
    pub gain: f64,
    /// Parameter ranges this instrument is meant for (documentation and clamping).
    #[serde(default)]
    pub ranges: Ranges,
    /// Where it came from.
    pub provenance: Provenance,
    /// The per-node maps.
    pub maps: MapsSpec,
    /// Optional note/velocity shaping network (trained multi-note instruments).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kan: Option<super::kan::KanSpec>,
    /// Optional radiation filter (body and microphone response; trained instruments).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub radiation: Option<super::radiation::RadiationSpec>,
    /// Optional per-note level correction (trained instruments).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level_curve: Option<LevelCurve>,
}

/// Mesh size in nodes.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MeshSpec {
    /// Nodes across.
    pub width: usize,
    /// Nodes down (1: a string).
    pub height: usize,
}

/// Scalar physical parameters.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PhysicsSpec {
    /// σ₁: extra decay rate (1/s) per unit of grid-Laplacian eigenvalue at
    /// full resolution (high partials die faster). 0..100.
    pub sigma1: f64,
    /// Frequency of the weak support spring, Hz (0..20); keeps free bodies from drifting.
    #[serde(default)]
    pub support_hz: f64,
    /// T60 the note-off's damping gives, seconds (absent: 1 s; at most 17 s
    /// is used). A released voice ends within 10 s, or within the time this
    /// T60 takes to fall 100 dB when that is longer, never after 30 s.
    #[serde(default)]
    pub release_t60: Option<f64>,
}

/// Default excitation of a note.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ExcitationSpec {
    /// Shape.
    pub shape: ExciteShape,
    /// Position across, 0..1.
    pub x: f64,
    /// Position down, 0..1.
    pub y: f64,
    /// Diameter of the spatial window as a share of the mesh width, 0.005..1.
    pub width: f64,
    /// Contact time at velocity 0.5, milliseconds (halves at velocity 1, doubles at 0).
    pub contact_ms: f64,
    /// Bow force of a note (0..1) for shape `bow`; absent: the server's
    /// default ([`crate::types::DEFAULT_BOW_FORCE`]). A trained bowed
    /// instrument stores the force it was fitted with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bow_force: Option<f64>,
    /// Bow velocity of a note (0..1) for shape `bow`; absent: the server's
    /// default ([`crate::types::DEFAULT_BOW_VELOCITY`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bow_velocity: Option<f64>,
}

/// Default pickup positions, each `[x, y]` in 0..1.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PickupSpec {
    /// Left channel pickup.
    pub left: [f64; 2],
    /// Right channel pickup.
    pub right: [f64; 2],
}

/// Documented parameter ranges (clamped to by the server).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Ranges {
    /// Playable MIDI notes (must include 24..108).
    pub note: [f64; 2],
    /// Damping scale.
    pub damping: [f64; 2],
}

impl Default for Ranges {
    fn default() -> Self {
        Self {
            note: [24.0, 108.0],
            damping: [0.1, 10.0],
        }
    }
}

/// Provenance of an instrument.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    /// `hand-designed`, `trained`, ...
    pub method: String,
    /// The tool that made it.
    #[serde(default)]
    pub tool: String,
    /// Source recordings or design notes.
    #[serde(default)]
    pub source: String,
    /// Date (ISO 8601).
    #[serde(default)]
    pub date: String,
}

/// The per-node maps.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MapsSpec {
    /// Relative stiffness (c² scale) per node, 0.001..1.
    pub stiffness: MapData,
    /// σ₀ damping per node, 1/s, 0..200.
    pub sigma0: MapData,
    /// Node kinds: 0 void, 1 body, 2 clamp.
    pub mask: MapData,
}

/// A stored map: a constant or encoded data.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum MapData {
    /// The same value at every node.
    Constant(f64),
    /// Encoded per-node data.
    Encoded {
        /// `f32le-base64` (float maps) or `u8-base64` (mask).
        encoding: String,
        /// The base64 payload.
        data: String,
    },
}

impl MapData {
    /// Encodes f32 values.
    pub fn from_f32(values: &[f32]) -> Self {
        if let Some(&v0) = values.first() {
            if values.iter().all(|&v| v == v0) {
                return Self::Constant(v0 as f64);
            }
        }
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        Self::Encoded {
            encoding: "f32le-base64".into(),
            data: base64::engine::general_purpose::STANDARD.encode(bytes),
        }
    }

    /// Encodes mask bytes.
    pub fn from_u8(values: &[u8]) -> Self {
        if let Some(&v0) = values.first() {
            if values.iter().all(|&v| v == v0) {
                return Self::Constant(v0 as f64);
            }
        }
        Self::Encoded {
            encoding: "u8-base64".into(),
            data: base64::engine::general_purpose::STANDARD.encode(values),
        }
    }

    /// Decodes to `n` f32 values; the error says what is wrong.
    pub fn decode_f32(&self, n: usize) -> Result<Vec<f32>, MapDecodeError> {
        match self {
            Self::Constant(v) => Ok(vec![*v as f32; n]),
            Self::Encoded { encoding, data } => {
                if encoding != "f32le-base64" {
                    return Err(MapDecodeError::Encoding {
                        found: encoding.clone(),
                        expected: "f32le-base64",
                    });
                }
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(data)
                    .map_err(MapDecodeError::Base64)?;
                if bytes.len() != 4 * n {
                    return Err(MapDecodeError::Count {
                        values: bytes.len() as f64 / 4.0,
                        needed: n,
                    });
                }
                Ok(bytes
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect())
            }
        }
    }

    /// Decodes to `n` bytes; the error says what is wrong.
    pub fn decode_u8(&self, n: usize) -> Result<Vec<u8>, MapDecodeError> {
        match self {
            Self::Constant(v) => {
                if v.fract() != 0.0 || !(0.0..=255.0).contains(v) {
                    return Err(MapDecodeError::Constant(*v));
                }
                Ok(vec![*v as u8; n])
            }
            Self::Encoded { encoding, data } => {
                if encoding != "u8-base64" {
                    return Err(MapDecodeError::Encoding {
                        found: encoding.clone(),
                        expected: "u8-base64",
                    });
                }
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(data)
                    .map_err(MapDecodeError::Base64)?;
                if bytes.len() != n {
                    return Err(MapDecodeError::Count {
                        values: bytes.len() as f64,
                        needed: n,
                    });
                }
                Ok(bytes)
            }
        }
    }
}

/// A per-note level correction: dB at increasing notes, linear between
/// them, constant beyond the ends. The trainer sets it so that every note
/// sounds as loud as the trained notes (the mesh's loudness otherwise
/// swings with the note: pitch is set by stiffness on a fixed mesh, and
/// the mesh level changes with the note).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LevelCurve {
    /// MIDI notes, strictly increasing.
    pub notes: Vec<f64>,
    /// Correction at each note, dB.
    pub db: Vec<f64>,
}

impl LevelCurve {
    /// Largest correction a curve may hold, dB.
    pub const MAX_DB: f64 = 40.0;
    /// Most points a curve may hold.
    pub const MAX_POINTS: usize = 1024;

    /// The correction at `note`, dB (linear between points, constant
    /// beyond the ends; 0 for a non-finite note).
    pub fn db_at(&self, note: f64) -> f64 {
        let (n, d) = (&self.notes, &self.db);
        if !note.is_finite() || n.is_empty() {
            return 0.0;
        }
        if note <= n[0] {
            return d[0];
        }
        if note >= n[n.len() - 1] {
            return d[d.len() - 1];
        }
        let i = n.partition_point(|&x| x <= note);
        let t = (note - n[i - 1]) / (n[i] - n[i - 1]);
        d[i - 1] + t * (d[i] - d[i - 1])
    }

    /// Checks sizes and values; on failure, the field and the reason.
    pub fn validate(&self) -> Result<(), (String, String)> {
        let n = self.notes.len();
        if !(1..=Self::MAX_POINTS).contains(&n) {
            return Err((
                "level_curve.notes".into(),
                format!("{n} points, needs 1 to {}", Self::MAX_POINTS),
            ));
        }
        if self.db.len() != n {
            return Err((
                "level_curve.db".into(),
                format!("{} values, needs {n} (one per note)", self.db.len()),
            ));
        }
        for (i, &x) in self.notes.iter().enumerate() {
            if !x.is_finite() {
                return Err((format!("level_curve.notes[{i}]"), "NaN or infinite".into()));
            }
            if i > 0 && x <= self.notes[i - 1] {
                return Err((
                    format!("level_curve.notes[{i}]"),
                    format!("{x}: notes must increase"),
                ));
            }
        }
        for (i, &g) in self.db.iter().enumerate() {
            if !g.is_finite() {
                return Err((format!("level_curve.db[{i}]"), "NaN or infinite".into()));
            }
            if g.abs() > Self::MAX_DB {
                return Err((
                    format!("level_curve.db[{i}]"),
                    format!("{g} dB is outside ±{} dB", Self::MAX_DB),
                ));
            }
        }
        Ok(())
    }
}

/// Why a map cannot be decoded ([`MapData::decode_f32`], [`MapData::decode_u8`]).
#[derive(Debug, thiserror::Error)]
pub enum MapDecodeError {
    /// The encoding is not the one the map needs.
    #[error("unknown encoding `{found}` (expected `{expected}`)")]
    Encoding {
        /// The encoding written.
        found: String,
        /// The one expected.
        expected: &'static str,
    },
    /// The data is not base64.
    #[error("invalid base64: {0}")]
    Base64(base64::DecodeError),
    /// The data holds the wrong number of values.
    #[error("has {values} values, the mesh needs {needed}")]
    Count {
        /// Values found (fractional when the bytes do not divide).
        values: f64,
        /// Values the mesh needs.
        needed: usize,
    },
    /// A constant mask that is not a node kind.
    #[error("constant {0} is not a node kind (0, 1 or 2)")]
    Constant(f64),
}
