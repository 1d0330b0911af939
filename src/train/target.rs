//! Training targets: any WAV a user has, turned into one clean note.
//!
//! [`load`] reads a WAV with hound (8/16/24/32-bit integer or 32-bit float,
//! any number of channels, mixed to mono), resamples it to 48 kHz with
//! rubato's FFT resampler, finds the onset (the first sample above −40 dB
//! re the file's peak, as `shared/eval/metrics.py` does), keeps a 1 ms
//! pre-roll before it and trims the note: at most [`MAX_NOTE_SECONDS`]
//! (3 s, the length of the evaluation corpus), and no trailing silence
//! (the note ends 10 ms after the last sample above −80 dB re the peak).
//!
//! Bad input is refused with a [`TargetError`] that says what and why:
//! unreadable or not a WAV, empty, silent, clipped to nothing (most of the
//! note at full scale), too short after the onset.
//!
//! The note number comes from, in order: a `manifest.json` beside the file
//! (the schema of `shared/corpus/manifest.json`: `files[].file` and
//! `files[].midi_note`), the file name (`harp_C4.wav`, `drum_crash_Cs3.wav`
//! → C♯3, `As4` → A♯4, `Eb2`), or the estimated pitch.

use std::path::{Path, PathBuf};

use rubato::audioadapter_buffers::direct::SequentialSliceOfVecs;
use rubato::{Fft, FixedSync, Resampler};

use super::analysis;

/// Sample rate of every target after loading (the engine's and the metric's).
pub const SAMPLE_RATE: u32 = 48_000;
/// Longest note kept after the onset, seconds.
pub const MAX_NOTE_SECONDS: f64 = 3.0;
/// Shortest note accepted after the onset, seconds.
pub const MIN_NOTE_SECONDS: f64 = 0.1;
/// Onset threshold relative to the peak, dB (as the metric).
pub const ONSET_DB: f64 = -40.0;
/// Silence kept before the onset, seconds.
pub const PRE_ROLL_SECONDS: f64 = 0.001;
/// A file whose peak is below this (dBFS) is silent.
pub const SILENCE_DBFS: f64 = -90.0;
/// A note with more than this share of its samples at full scale is refused as clipped.
pub const MAX_CLIPPED_SHARE: f64 = 0.5;
/// The note ends this far (dB re the peak) down, plus 10 ms.
const END_DB: f64 = -80.0;

/// Why a target recording was refused.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// The file cannot be opened or read.
    #[error("{path}: cannot read: {reason}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The bytes are not a WAV file hound can decode.
    #[error("{path}: not a WAV file this tool can read ({reason})")]
    NotWav {
        /// The file.
        path: PathBuf,
        /// Hound's reason.
        reason: String,
    },
    /// No sample frames at all.
    #[error("{path}: empty: the file holds no audio samples")]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// Nothing above the silence threshold.
    #[error("{path}: silent: the loudest sample is {peak_dbfs:.1} dBFS (below {SILENCE_DBFS} dBFS): there is no note to learn from")]
    Silent {
        /// The file.
        path: PathBuf,
        /// Peak level, dBFS.
        peak_dbfs: f64,
    },
    /// Most of the note sits at full scale.
    #[error("{path}: clipped to nothing: {percent:.0}% of the note's samples sit at full scale (more than {}%): a hard-clipped recording has lost its waveform", MAX_CLIPPED_SHARE * 100.0)]
    Clipped {
        /// The file.
        path: PathBuf,
        /// Share of samples at full scale, percent.
        percent: f64,
    },
    /// The sound after the onset is too short to analyse.
    #[error("{path}: too short after the onset: {seconds:.3} s of sound, at least {MIN_NOTE_SECONDS} s needed")]
    TooShort {
        /// The file.
        path: PathBuf,
        /// Seconds from the onset to the end.
        seconds: f64,
    },
    /// The sample rate cannot be converted.
    #[error("{path}: cannot resample from {rate} Hz to {SAMPLE_RATE} Hz: {reason}")]
    Resample {
        /// The file.
        path: PathBuf,
        /// The file's sample rate.
        rate: u32,
        /// Why.
        reason: ResampleError,
    },
}

/// Why [`resample`] failed.
#[derive(Debug, thiserror::Error)]
pub enum ResampleError {
    /// The file declares a rate of 0 Hz.
    #[error("the file declares a sample rate of 0")]
    ZeroRate,
    /// Rubato cannot resample between these rates.
    #[error(transparent)]
    Construction(#[from] rubato::ResamplerConstructionError),
    /// The input buffer does not have the size rubato expects.
    #[error(transparent)]
    Size(#[from] rubato::audioadapter_buffers::SizeError),
    /// Rubato failed while resampling.
    #[error(transparent)]
    Process(#[from] rubato::ResampleError),
}

/// Where a target's note number came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NoteSource {
    /// `manifest.json` beside the file.
    Manifest,
    /// The file name (`harp_C4.wav`).
    FileName,
    /// The estimated pitch.
    Estimated,
}

/// One target note, ready for analysis and training.
#[derive(Clone, Debug)]
pub struct Target {
    /// The file it came from.
    pub path: PathBuf,
    /// Mono samples at [`SAMPLE_RATE`], from 1 ms before the onset, at most [`MAX_NOTE_SECONDS`] after it.
    pub samples: Vec<f32>,
    /// The file's own sample rate.
    pub source_rate: u32,
    /// The file's channel count.
    pub source_channels: u16,
    /// Where the onset was in the file, seconds.
    pub onset_seconds: f64,
    /// MIDI note number (may be fractional when estimated).
    pub note: f64,
    /// Where [`Target::note`] came from.
    pub note_source: NoteSource,
    /// The note-off, when the recording holds a sustained note and then
    /// releases it (a bowed or blown note, a sample that stops).
    pub release: Option<Release>,
}

/// Where a recording's note stops: a held note let go, or a decaying one cut short.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Release {
    /// Seconds from the onset to the note-off.
    pub hold_seconds: f64,
    /// T60 of the release (seconds for the level to fall 60 dB).
    pub t60: f64,
    /// Whether the note was sustained up to the release (within
    /// [`SUSTAINED_WITHIN_DB`] of its peak): a key let go. Otherwise a
    /// decaying note was cut short (a sample that stops early), which is
    /// no reason to give the instrument a release.
    pub sustained: bool,
}

/// A note whose level at the release is within this of its peak was held, dB.
pub const SUSTAINED_WITHIN_DB: f64 = 12.0;

/// Frame hop of the release detector's level curve, seconds.
const RELEASE_HOP_S: f64 = 0.010;
/// How far ahead the detector looks for the fall, seconds.
const RELEASE_LOOK_S: f64 = 0.15;
/// The least fall over [`RELEASE_LOOK_S`] that counts as a release, dB.
const RELEASE_MIN_FALL_DB: f64 = 15.0;
/// The fall must be this many times steeper than the decay before it.
const RELEASE_STEEPER: f64 = 4.0;
/// The note must have been held at least this long, seconds.
const RELEASE_MIN_HOLD_S: f64 = 0.1;

/// Finds where a sustained note is released: the first moment after the
/// peak where the level falls by at least 15 dB within 150 ms, four times
/// faster than it decayed from the peak up to then, and keeps falling
/// (20 dB below within 400 ms). A plucked or struck note that decays at one
/// rate, or fast then slow, has none; one cut short while decaying has a
/// release that is not [`Release::sustained`]. `x` starts at the onset (a few ms of
/// pre-roll allowed); the T60 is fitted to the first 40 dB of the fall.
pub fn detect_release(x: &[f32], sr: f64) -> Option<Release> {
    let hop = (RELEASE_HOP_S * sr) as usize;
    let frame = 2 * hop;
    if x.len() < frame * 4 {
        return None;
    }
    let n = (x.len() - frame) / hop + 1;
    // Level per frame, energy smoothed over 3 frames, dB.
    let e: Vec<f64> = (0..n)
        .map(|k| {
            let s = &x[k * hop..k * hop + frame];
            s.iter().map(|&v| (v as f64) * (v as f64)).sum::<f64>() / frame as f64
        })
        .collect();
    let db: Vec<f64> = (0..n)
        .map(|k| {
            let (a, b) = (k.saturating_sub(1), (k + 2).min(n));
            let m = e[a..b].iter().sum::<f64>() / (b - a) as f64;
            10.0 * m.max(1e-30).log10()
        })
        .collect();
    let k_pk = (0..n).max_by(|&a, &b| db[a].total_cmp(&db[b]))?;
    let peak = db[k_pk];
    let look = (RELEASE_LOOK_S / RELEASE_HOP_S).round() as usize;
    let confirm = (0.4 / RELEASE_HOP_S).round() as usize;
    let first = k_pk + (RELEASE_MIN_HOLD_S / RELEASE_HOP_S).round() as usize;
    for k in first..n.saturating_sub(look) {
        // Only a note still sounding can be released.
        if db[k] < peak - 40.0 {
            return None;
        }
        let fall = db[k] - db[k + look];
        if fall < RELEASE_MIN_FALL_DB {
            continue;
        }
        let before = (peak - db[k]).max(0.0) / ((k - k_pk) as f64 * RELEASE_HOP_S);
        let rate = fall / RELEASE_LOOK_S;
        if rate < RELEASE_STEEPER * before {
            continue;
        }
        let later = db[(k + confirm).min(n - 1)];
        if k + confirm < n && later > db[k] - 20.0 {
            continue;
        }
        // The look-ahead window reaches into a fast fall early: move on to
        // the knee, the last frame before the level drops 1 dB a frame.
        let mut k = k;
        while k + 1 < n && db[k + 1] > db[k] - 1.0 {
            k += 1;
        }
        // Slope of the fall: a line through the level from k until it is
        // 40 dB down (or the sound ends).
        let end = (k + 1..n)
            .find(|&j| db[j] < db[k] - 40.0)
            .unwrap_or(n - 1)
            .max(k + 2);
        let pts: Vec<(f64, f64)> = (k..=end)
            .map(|j| (j as f64 * RELEASE_HOP_S, db[j]))
            .collect();
        let slope = -analysis::line_slope(&pts);
        if slope <= 0.0 {
            return None;
        }
        let onset = onset_index(x, ONSET_DB) as f64 / sr;
        // The frame is centred a hop after its start.
        let hold = (k as f64 * RELEASE_HOP_S + RELEASE_HOP_S - onset).max(0.0);
        return Some(Release {
            hold_seconds: hold,
            t60: (60.0 / slope).clamp(0.01, 60.0),
            sustained: db[k] >= peak - SUSTAINED_WITHIN_DB,
        });
    }
    None
}

impl Target {
    /// The file name without its extension.
    pub fn stem(&self) -> String {
        self.path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

/// Loads, checks, resamples and trims a target recording; finds its note.
pub fn load(path: &Path) -> Result<Target, TargetError> {
    let (mono, rate, channels) = read_wav_mono(path)?;
    from_samples(path, &mono, rate, channels)
}

/// As [`load`], from samples already read (`rate` Hz, mono, full scale ±1).
pub fn from_samples(
    path: &Path,
    mono: &[f32],
    rate: u32,
    channels: u16,
) -> Result<Target, TargetError> {
    let p = || path.to_path_buf();
    if mono.is_empty() {
        return Err(TargetError::Empty { path: p() });
    }
    let peak = mono.iter().fold(0.0f32, |m, v| m.max(v.abs())) as f64;
    let peak_dbfs = 20.0 * peak.max(1e-300).log10();
    if peak_dbfs < SILENCE_DBFS {
        return Err(TargetError::Silent {
            path: p(),
            peak_dbfs,
        });
    }
    let x = resample(mono, rate).map_err(|reason| TargetError::Resample {
        path: p(),
        rate,
        reason,
    })?;
    let sr = SAMPLE_RATE as f64;
    let onset = onset_index(&x, ONSET_DB);
    let after = x.len() - onset;
    if (after as f64) < MIN_NOTE_SECONDS * sr {
        return Err(TargetError::TooShort {
            path: p(),
            seconds: after as f64 / sr,
        });
    }
    // Clipping is judged on the file's own samples (resampling rings over
    // the flat tops).
    let onset_src = ((onset as f64) * rate as f64 / sr) as usize;
    let note_src = &mono[onset_src.min(mono.len() - 1)..];
    let at_full = note_src.iter().filter(|v| v.abs() >= 0.999).count();
    let share = at_full as f64 / note_src.len() as f64;
    if share > MAX_CLIPPED_SHARE {
        return Err(TargetError::Clipped {
            path: p(),
            percent: 100.0 * share,
        });
    }
    let start = onset.saturating_sub((PRE_ROLL_SECONDS * sr).round() as usize);
    let xpeak = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let thr = xpeak * 10f32.powf(END_DB as f32 / 20.0);
    let last = x.iter().rposition(|v| v.abs() > thr).unwrap_or(onset);
    let end = (last + (0.01 * sr) as usize)
        .min(x.len())
        .min(onset + (MAX_NOTE_SECONDS * sr) as usize);
    if ((end - onset) as f64) < MIN_NOTE_SECONDS * sr {
        return Err(TargetError::TooShort {
            path: p(),
            seconds: (end - onset) as f64 / sr,
        });
    }
    let samples = x[start..end].to_vec();
    let (note, note_source) = match note_from_manifest(path).or_else(|| note_from_path(path)) {
        Some((n, s)) => (n, s),
        None => {
            let f0 = analysis::estimate_f0(&samples, sr, None);
            (
                f0.map(hz_to_note).unwrap_or(60.0).round(),
                NoteSource::Estimated,
            )
        }
    };
    let release = detect_release(&samples, sr);
    Ok(Target {
        path: p(),
        release,
        samples,
        source_rate: rate,
        source_channels: channels,
        onset_seconds: onset as f64 / sr,
        note,
        note_source,
    })
}

/// Reads a WAV file as mono (channels averaged), full scale ±1.
/// Returns the samples, the sample rate and the channel count.
pub fn read_wav_mono(path: &Path) -> Result<(Vec<f32>, u32, u16), TargetError> {
    let p = || path.to_path_buf();
    let file = std::fs::File::open(path).map_err(|e| TargetError::Unreadable {
        path: p(),
        reason: e.to_string(),
    })?;
    let reader = hound::WavReader::new(std::io::BufReader::new(file)).map_err(|e| match e {
        hound::Error::IoError(io) if io.kind() != std::io::ErrorKind::UnexpectedEof => {
            TargetError::Unreadable {
                path: p(),
                reason: io.to_string(),
            }
        }
        other => TargetError::NotWav {
            path: p(),
            reason: other.to_string(),
        },
    })?;
    let spec = reader.spec();
    let ch = spec.channels.max(1) as usize;
    let bad = |e: hound::Error| TargetError::NotWav {
        path: p(),
        reason: format!("sample data: {e}"),
    };
    let interleaved: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => reader
            .into_samples::<f32>()
            .collect::<Result<_, _>>()
            .map_err(bad)?,
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1u64 << (spec.bits_per_sample.clamp(1, 32) - 1)) as f64;
            reader
                .into_samples::<i32>()
                .map(|s| s.map(|v| (v as f64 * scale) as f32))
                .collect::<Result<_, _>>()
                .map_err(bad)?
        }
    };
    let mono = interleaved
        .chunks_exact(ch)
        .map(|f| f.iter().sum::<f32>() / ch as f32)
        .collect();
    Ok((mono, spec.sample_rate, spec.channels))
}

/// Resamples mono `x` from `rate` Hz to [`SAMPLE_RATE`] (rubato's FFT
/// resampler; the output is aligned with the input and has
/// `len · 48000 / rate` samples).
pub fn resample(x: &[f32], rate: u32) -> Result<Vec<f32>, ResampleError> {
    if rate == SAMPLE_RATE {
        return Ok(x.to_vec());
    }
    if rate == 0 {
        return Err(ResampleError::ZeroRate);
    }
    let mut r = Fft::<f32>::new(
        rate as usize,
        SAMPLE_RATE as usize,
        1024,
        1,
        FixedSync::Input,
    )?;
    let data = [x.to_vec()];
    let input = SequentialSliceOfVecs::new(&data, 1, x.len())?;
    let out = r.process_all(&input, x.len(), None)?;
    Ok(out.take_data())
}

/// Index of the first sample at or above `rel_db` dB re the peak (0 for
/// silence); it lives in [`analysis`] (which the loss and the target both
/// use).
pub use super::analysis::onset_index;

/// MIDI note of a frequency (A4 = 440 Hz), fractional.
pub fn hz_to_note(hz: f64) -> f64 {
    69.0 + 12.0 * (hz / 440.0).log2()
}

/// Parses a note name: a capital letter A–G, an optional accidental
/// (`s` or `#` sharp, `b` flat), an octave −1..9 (C4 = 60).
pub fn parse_note_name(token: &str) -> Option<f64> {
    let mut chars = token.chars().peekable();
    let pc = match chars.next()? {
        'C' => 0,
        'D' => 2,
        'E' => 4,
        'F' => 5,
        'G' => 7,
        'A' => 9,
        'B' => 11,
        _ => return None,
    };
    let acc = match chars.peek() {
        Some('s') | Some('#') => {
            chars.next();
            1
        }
        Some('b') => {
            chars.next();
            -1
        }
        _ => 0,
    };
    let rest: String = chars.collect();
    let octave: i32 = rest.parse().ok()?;
    if !(-1..=9).contains(&octave) || rest.starts_with('+') {
        return None;
    }
    let n = 12 * (octave + 1) + pc + acc;
    (0..=127).contains(&n).then_some(n as f64)
}

/// The note named in a file name: the last `_`/`-`/space-separated token
/// of the stem that is a note name (`drum_crash_Cs3` → 49).
pub fn note_from_name(stem: &str) -> Option<f64> {
    stem.split(['_', ' ', '.'])
        .rev()
        .find_map(|t| parse_note_name(t).or_else(|| t.rsplit('-').next().and_then(parse_note_name)))
}

fn note_from_path(path: &Path) -> Option<(f64, NoteSource)> {
    let stem = path.file_stem()?.to_string_lossy();
    note_from_name(&stem).map(|n| (n, NoteSource::FileName))
}

/// The `midi_note` of this file in a `manifest.json` beside it, if any
/// (a manifest that does not parse or does not list the file is ignored).
pub fn note_from_manifest(path: &Path) -> Option<(f64, NoteSource)> {
    let dir = path.parent()?;
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let text = std::fs::read_to_string(dir.join("manifest.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    let name = path.file_name()?.to_string_lossy();
    v.get("files")?
        .as_array()?
        .iter()
        .find(|f| f.get("file").and_then(|s| s.as_str()) == Some(&name))?
        .get("midi_note")?
        .as_f64()
        .filter(|n| (0.0..=127.0).contains(n))
        .map(|n| (n, NoteSource::Manifest))
}
