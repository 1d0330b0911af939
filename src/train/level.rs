//! The play level of a trained instrument, and its level curve.
//!
//! The mesh's loudness swings with the note (pitch is set by stiffness on
//! a fixed mesh, the mesh level and oversampling change with the note, a
//! note's modes meet the strike and pickups differently): a trained marimba
//! measured 17 dB quieter at G4 than at C4 and C5. [`level_curve`] stores a
//! per-note correction in the file (`level_curve`, applied to each note's
//! gain by [`crate::instrument::Instrument::note_request`]) that brings
//! every note's velocity-1 RMS to the trained notes' level (interpolated
//! between them), 0 dB at the trained notes themselves.
//!
//! [`super::fit::set_gain`] matches the render's RMS to the target's at the
//! training velocity ([`super::fit::VELOCITY`]), which is what the loss and
//! the report compare. [`set_play_level`] then sets the *play level*: the
//! gain that makes each trained note, played at the recording's velocity
//! ([`super::fit::VELOCITY`]), peak where its recording peaks (the geometric
//! mean over the trained notes), so a trained marimba plays as loud as the
//! marimba it was trained on. Other notes follow the level curve; the
//! loudest of them may peak above full scale at velocity 1: the server's
//! master limiter, not a quiet play level, protects against them (`render`
//! writes float WAVs; `--normalize` or `--gain-db` scale a render). Before
//! this, the gain was lowered until the loudest note of 24–108 peaked at
//! −1 dBFS, which left trained notes 5–17 dB below their recordings.

use std::sync::Arc;

use crate::instrument::format::LevelCurve;
use crate::instrument::Instrument;

use crate::render::{render_note_cpu, NoteSpec, RenderSettings};

use super::error::TrainError;
use super::fit::{FitModel, VELOCITY};

/// Seconds of each trained note rendered to find its peak (a struck note
/// peaks in its attack; a bowed one may take longer to build up).
pub const TRAINED_PEAK_SECONDS: f64 = 1.0;
/// Notes across the playable range 24..108 whose velocity-1 peaks are
/// measured (with every semitone between them, see [`measure`]).
pub const PROBE_NOTES: [f64; 9] = [24.0, 36.0, 47.0, 60.0, 66.0, 72.0, 85.0, 96.0, 108.0];
/// Velocity of the measurement.
pub const PROBE_VELOCITY: f32 = 1.0;
/// Seconds rendered per note (the attack and its first beats).
pub const PROBE_SECONDS: f64 = 0.4;

/// One measured note.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NotePeak {
    /// MIDI note.
    pub note: f64,
    /// Largest absolute sample at velocity 1, before the level change.
    pub peak: f64,
    /// RMS over the probe (both channels) at velocity 1, before the level
    /// change.
    pub rms: f64,
}

/// A trained note and the peak of the recording it was trained on.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TrainedPeak {
    /// The MIDI note the model plays the recording at.
    pub note: f64,
    /// The recording's largest absolute sample.
    pub recording_peak: f64,
    /// The render's largest absolute sample (stereo) at the recording's
    /// velocity, after the level change.
    pub render_peak: f64,
}

/// What [`set_play_level`] measured and did (`play_level` in `metrics.json`).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PlayLevel {
    /// The measured range of notes for the level curve and the loudest
    /// note, MIDI notes (24–108).
    pub range: [f64; 2],
    /// The trained notes: their recordings' and their renders' peaks.
    pub trained: Vec<TrainedPeak>,
    /// Largest velocity-1 peak over all measured notes, after the level
    /// change (may exceed full scale: the limiter holds it).
    pub peak_full_range: f64,
    /// The note of `peak_full_range`.
    pub loudest_note: f64,
    /// The level curve's smallest and largest correction, dB (absent when
    /// no trained note could be measured).
    pub curve_db: Option<[f64; 2]>,
    /// The gain change from the RMS-matched fit, dB.
    pub gain_db: f64,
    /// The measured notes and their velocity-1 peaks and RMS (with the level
    /// curve, before the gain change).
    pub notes: Vec<NotePeak>,
    /// Notes the instrument cannot play (out of range, no stable level, or a
    /// non-finite render): not measured.
    pub skipped: Vec<f64>,
}

impl PlayLevel {
    /// A clause for the instrument's description.
    pub fn description(&self) -> String {
        let db = |x: f64| 20.0 * x.max(1e-12).log10();
        let notes: Vec<String> = self
            .trained
            .iter()
            .map(|t| {
                format!(
                    "note {:.0} peaks at {:.1} dBFS (recording {:.1} dBFS)",
                    t.note,
                    db(t.render_peak),
                    db(t.recording_peak)
                )
            })
            .collect();
        format!(
            "Level set to the recording: at velocity {} {}; velocity 1 peaks at {:.1} dBFS at note {:.0}, the loudest of {:.0}-{:.0}.",
            VELOCITY,
            notes.join(", "),
            db(self.peak_full_range),
            self.loudest_note,
            self.range[0],
            self.range[1]
        )
    }
}

/// Where a clause written by [`PlayLevel::description`] starts in
/// `description`, if it has one.
pub fn clause_start(description: &str) -> Option<usize> {
    [
        "Level set to the recording:",
        "Level set for play:",
        "Level as fitted to the target:",
    ]
    .iter()
    .filter_map(|c| description.find(c))
    .min()
}

/// Velocity-1 stereo peaks of `inst` (its note shaping, default excitation
/// and pickups; [`PROBE_SECONDS`] each) at every semitone of
/// [`PROBE_NOTES`]' range (which includes them), at the first note of each
/// mesh level or oversampling change in that range (the level a note plays
/// on jumps there, and so does its loudness), and at `extra`. Returns the
/// measured notes, ascending, and the skipped ones.
pub fn measure(inst: &Arc<Instrument>, extra: &[f64]) -> (Vec<NotePeak>, Vec<f64>) {
    let (lo, hi) = (PROBE_NOTES[0], PROBE_NOTES[PROBE_NOTES.len() - 1]);
    let mut notes: Vec<f64> = (lo as i32..=hi as i32).map(f64::from).collect();
    notes.extend(PROBE_NOTES);
    notes.extend(plan_changes(inst, &notes));
    notes.extend(extra.iter().copied().filter(|n| n.is_finite()));
    notes.sort_by(f64::total_cmp);
    notes.dedup_by(|a, b| (*a - *b).abs() < 1e-6);
    let (mut measured, mut skipped) = (Vec::new(), Vec::new());
    for note in notes {
        let spec = NoteSpec {
            request: inst.note_request(note, PROBE_VELOCITY),
            duration: PROBE_SECONDS,
            release_at: None,
        };
        match render_note_cpu(inst, &spec, RenderSettings::default()) {
            Ok(b) if b.left.iter().chain(&b.right).all(|v| v.is_finite()) => {
                measured.push(NotePeak {
                    note,
                    peak: b.peak() as f64,
                    rms: b.rms(),
                })
            }
            _ => skipped.push(note),
        }
    }
    (measured, skipped)
}

/// The last and first notes (0.01 semitone apart) of each plan change between adjacent
/// `notes` (ascending): where the note moves to another mesh level or
/// oversampling factor.
fn plan_changes(inst: &Instrument, notes: &[f64]) -> Vec<f64> {
    let sr = RenderSettings::default().sample_rate as f64;
    let key = |n: f64| inst.plan(n, 0.0, sr).ok().map(|p| (p.level, p.oversample));
    let mut out = Vec::new();
    for w in notes.windows(2) {
        let (mut a, mut b) = (w[0], w[1]);
        let ka = key(a);
        if ka == key(b) {
            continue;
        }
        while b - a > 0.01 {
            let m = 0.5 * (a + b);
            if key(m) == ka {
                a = m;
            } else {
                b = m;
            }
        }
        out.push(a);
        out.push(b);
    }
    out
}

/// Largest correction the level curve gives a note, dB.
pub const MAX_CURVE_DB: f64 = 24.0;

/// The level curve that brings every measured note's RMS to the trained
/// notes' (linear between them, the nearest one's beyond): 0 dB at the
/// trained notes, at most ±[`MAX_CURVE_DB`]. `None` when no trained note
/// was measured.
pub fn level_curve(notes: &[NotePeak], trained: &[f64]) -> Option<LevelCurve> {
    let db = |n: &NotePeak| 20.0 * n.rms.max(1e-12).log10();
    let mut anchors: Vec<(f64, f64)> = notes
        .iter()
        .filter(|n| trained.iter().any(|t| (t - n.note).abs() < 1e-6))
        .map(|n| (n.note, db(n)))
        .collect();
    anchors.sort_by(|a, b| a.0.total_cmp(&b.0));
    anchors.dedup_by(|a, b| a.0 == b.0);
    if anchors.is_empty() {
        return None;
    }
    let reference = LevelCurve {
        notes: anchors.iter().map(|a| a.0).collect(),
        db: anchors.iter().map(|a| a.1).collect(),
    };
    Some(LevelCurve {
        notes: notes.iter().map(|n| n.note).collect(),
        db: notes
            .iter()
            .map(|n| (reference.db_at(n.note) - db(n)).clamp(-MAX_CURVE_DB, MAX_CURVE_DB))
            .collect(),
    })
}

/// Sets the level curve (see [`level_curve`]), then the gain that makes
/// the trained notes, played at [`VELOCITY`], peak where their recordings
/// peak (geometric mean over `trained`; `recording_peak` is read, the
/// rest of each [`TrainedPeak`] is filled in).
pub fn set_play_level(
    model: &mut FitModel,
    trained: &[TrainedPeak],
) -> Result<PlayLevel, TrainError> {
    model.file.level_curve = None;
    let inst = model.instrument()?;
    let trained_notes: Vec<f64> = trained.iter().map(|t| t.note).collect();
    let (mut notes, skipped) = measure(&inst, &trained_notes);
    let curve = level_curve(&notes, &trained_notes);
    if let Some(c) = &curve {
        for (n, d) in notes.iter_mut().zip(&c.db) {
            let g = 10f64.powf(d / 20.0);
            n.peak *= g;
            n.rms *= g;
        }
    }
    let curve_db = curve.as_ref().map(|c| {
        c.db.iter()
            .fold([f64::INFINITY, f64::NEG_INFINITY], |m, &d| {
                [m[0].min(d), m[1].max(d)]
            })
    });
    model.file.level_curve = curve;
    let inst = model.instrument()?;
    let mut log_ratio = (0.0, 0usize);
    let mut measured = Vec::with_capacity(trained.len());
    for t in trained {
        let peak = trained_peak(&inst, t.note);
        if peak > 0.0 && t.recording_peak > 0.0 {
            log_ratio.0 += (t.recording_peak / peak).ln();
            log_ratio.1 += 1;
        }
        measured.push(TrainedPeak {
            render_peak: peak,
            ..*t
        });
    }
    let scale = if log_ratio.1 > 0 {
        (log_ratio.0 / log_ratio.1 as f64).exp()
    } else {
        1.0
    };
    let before = model.file.gain;
    model.file.gain = (before * scale).clamp(1e-6, 1e6);
    let applied = model.file.gain / before;
    for t in &mut measured {
        t.render_peak *= applied;
    }
    let range = [PROBE_NOTES[0], PROBE_NOTES[PROBE_NOTES.len() - 1]];
    let loudest = notes
        .iter()
        .max_by(|a, b| a.peak.total_cmp(&b.peak))
        .map_or((0.0, f64::NAN), |n| (n.peak, n.note));
    Ok(PlayLevel {
        range,
        trained: measured,
        peak_full_range: loudest.0 * applied,
        loudest_note: loudest.1,
        gain_db: 20.0 * applied.log10(),
        curve_db,
        notes,
        skipped,
    })
}

/// The stereo peak of `note` on `inst` at [`VELOCITY`] over
/// [`TRAINED_PEAK_SECONDS`] (0 when it does not render or is not finite).
fn trained_peak(inst: &Arc<Instrument>, note: f64) -> f64 {
    let spec = NoteSpec {
        request: inst.note_request(note, VELOCITY),
        duration: TRAINED_PEAK_SECONDS,
        release_at: None,
    };
    match render_note_cpu(inst, &spec, RenderSettings::default()) {
        Ok(b) if b.left.iter().chain(&b.right).all(|v| v.is_finite()) => b.peak() as f64,
        _ => 0.0,
    }
}
