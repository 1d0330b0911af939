//! `--record FILE.wav`: a writer thread that drains the recorder ring into
//! a 32-bit float stereo WAV (I/O stays off the audio path).
//!
//! A write that fails (the disk full, the file system gone) stops the
//! recording, not the server: the writer logs it at once, keeps draining
//! the ring (so the audio side never notices), finalises the file as far as
//! it can (a WAV header for what reached the disk) and reports the error
//! when the server stops.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use ringbuf::traits::{Consumer, Observer, Split};
use ringbuf::HeapCons;

use thiserror::Error;

use super::RecordTap;

/// Why a recording cannot start or did not complete.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum RecorderError {
    /// The WAV file cannot be created.
    #[error("cannot record to {}: {source}", path.display())]
    Create {
        /// The file.
        path: PathBuf,
        /// hound's error.
        source: hound::Error,
    },
    /// Writing or finalising the WAV file failed.
    #[error(transparent)]
    Write(#[from] hound::Error),
    /// The writer thread cannot be started.
    #[error(transparent)]
    Thread(#[from] std::io::Error),
    /// The writer thread panicked.
    #[error("recorder thread panicked")]
    Panicked,
}

/// A running recorder.
pub struct Recorder {
    handle: Option<JoinHandle<Result<u64, RecorderError>>>,
    stop: Arc<AtomicBool>,
}

impl Recorder {
    /// Creates the WAV file and the ring (`seconds` of buffering); returns the tap
    /// the audio back-end writes into.
    pub fn start(
        path: PathBuf,
        sample_rate: u32,
        seconds: f64,
    ) -> Result<(Self, RecordTap), RecorderError> {
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate,
            bits_per_sample: 32,
            sample_format: hound::SampleFormat::Float,
        };
        let mut writer = match hound::WavWriter::create(&path, spec) {
            Ok(w) => w,
            Err(source) => return Err(RecorderError::Create { path, source }),
        };
        let (prod, mut cons): (RecordTap, HeapCons<f32>) =
            super::prefault::ring::<f32>((2.0 * sample_rate as f64 * seconds) as usize).split();
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let handle = std::thread::Builder::new()
            .name("neirosynth-recorder".into())
            .spawn(move || {
                let mut buf = vec![0.0f32; 8192];
                let mut frames = 0u64;
                let mut failed: Option<hound::Error> = None;
                loop {
                    let done = s.load(Ordering::Acquire);
                    let n = cons.pop_slice(&mut buf);
                    if failed.is_none() {
                        match buf[..n].iter().try_for_each(|v| writer.write_sample(*v)) {
                            Ok(()) => frames += n as u64 / 2,
                            Err(e) => {
                                tracing::error!(
                                    "recording to {} stopped after {frames} frames: {e}; the server plays on",
                                    path.display()
                                );
                                failed = Some(e);
                            }
                        }
                    }
                    if n == 0 {
                        if done && cons.is_empty() {
                            break;
                        }
                        std::thread::sleep(Duration::from_millis(5));
                    }
                }
                match failed {
                    None => {
                        writer.finalize()?;
                        Ok(frames)
                    }
                    Some(e) => {
                        // Best effort: the header of what reached the disk.
                        let _ = writer.finalize();
                        Err(RecorderError::Write(e))
                    }
                }
            })?;
        Ok((
            Self {
                handle: Some(handle),
                stop,
            },
            prod,
        ))
    }

    /// Drains what is left, finalises the file; returns the frames written.
    pub fn finish(mut self) -> Result<u64, RecorderError> {
        self.stop.store(true, Ordering::Release);
        self.handle
            .take()
            .map_or(Ok(0), |h| h.join().map_err(|_| RecorderError::Panicked)?)
    }
}
