//! Audio back-ends: where the engine's blocks go.
//!
//! The engine thread writes interleaved stereo frames into a lock-free SPSC
//! ring ([`OutputRing`]); a back-end consumes it:
//! - `cpal` (`--audio default` / `--audio jack`): the device callback copies
//!   from the ring (no allocation, lock, log or I/O; a short read is an
//!   underrun, counted, and filled with silence);
//! - `null` (`--audio null`): a thread clocked at the sample rate by a
//!   deadline timer, for headless machines and tests.
//!
//! Both can tee what they output into a recorder ring drained by a writer
//! thread (`--record FILE.wav`): exactly the samples that left the process.
//! Every such ring is made resident before use ([`prefault`]).

#[cfg(target_os = "linux")]
pub mod alsa_messages;
mod error;
pub mod position;
pub mod prefault;
pub mod recorder;
pub mod stats;
pub mod supervisor;

pub use error::AudioError;

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ringbuf::traits::{Consumer, Observer, Producer};
use ringbuf::{HeapCons, HeapProd};

use stats::SharedStats;

/// Consumer end of the engine's output (interleaved stereo f32).
pub type OutputRing = HeapCons<f32>;
/// Producer end of the recorder's ring.
pub type RecordTap = HeapProd<f32>;

/// What a back-end hands back when it stops: the engine's ring and the
/// recorder's tap, so that another back-end can take over without the
/// engine noticing.
pub type Returned = (OutputRing, Option<RecordTap>);

/// Where a stopped back-end sends its [`Returned`] ring (bounded, capacity 1).
pub type Home = crossbeam_channel::Sender<Returned>;

/// The ring and tap a running back-end reads and writes; gives them back
/// through `home` when dropped (when the stream or thread is torn down,
/// never in a callback).
struct Held {
    ring: Option<OutputRing>,
    tap: Option<RecordTap>,
    home: Home,
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Some(ring) = self.ring.take() {
            let _ = self.home.try_send((ring, self.tap.take()));
        }
    }
}

/// Failures a cpal stream reports through its error callback, as a code an
/// atomic can carry (the callback never logs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum DeviceFault {
    /// No failure.
    None = 0,
    /// The device went away (unplugged, JACK server stopped...).
    Lost = 1,
    /// The stream must be rebuilt (sample rate or configuration changed).
    Invalidated = 2,
    /// The host reported another error that stops the stream.
    Failed = 3,
}

impl DeviceFault {
    /// Decodes [`DeviceFault`] from its code.
    pub fn from_code(c: u8) -> Self {
        match c {
            1 => Self::Lost,
            2 => Self::Invalidated,
            3 => Self::Failed,
            _ => Self::None,
        }
    }
    /// What happened, for the log.
    pub fn describe(self) -> &'static str {
        match self {
            Self::None => "no failure",
            Self::Lost => "the output device or audio server went away",
            Self::Invalidated => {
                "the device changed its configuration (the stream must be rebuilt)"
            }
            Self::Failed => "the audio host reported an error that stopped the stream",
        }
    }
}

/// Shared between a cpal stream's error callback and the supervisor.
#[derive(Debug, Default)]
pub struct DeviceHealth {
    /// The first fatal [`DeviceFault`] since the last check (its code).
    fault: AtomicU8,
    /// Device-side xruns reported by the host.
    pub xruns: std::sync::atomic::AtomicU64,
}

impl DeviceHealth {
    /// Takes the pending fault, if any.
    pub fn take_fault(&self) -> DeviceFault {
        DeviceFault::from_code(self.fault.swap(0, Ordering::AcqRel))
    }
    /// Records what the host reported (xruns are counted; changes that the
    /// host handles itself are ignored; the rest stop the stream).
    pub fn report(&self, kind: cpal::ErrorKind) {
        use cpal::ErrorKind as K;
        let fault = match kind {
            K::Xrun => {
                self.xruns.fetch_add(1, Ordering::Relaxed);
                return;
            }
            K::DeviceChanged | K::RealtimeDenied => return,
            K::DeviceNotAvailable | K::HostUnavailable => DeviceFault::Lost,
            K::StreamInvalidated | K::UnsupportedConfig => DeviceFault::Invalidated,
            _ => DeviceFault::Failed,
        };
        let _ = self
            .fault
            .compare_exchange(0, fault as u8, Ordering::AcqRel, Ordering::Relaxed);
    }
}

/// Which back-end to open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AudioKind {
    /// The system's default device (falls back to null when there is none).
    Default,
    /// Silent, clocked by a timer.
    Null,
    /// cpal's JACK host.
    Jack,
}

/// An open back-end (dropping it stops the audio).
pub struct OpenAudio {
    /// Sample rate it runs at.
    pub sample_rate: u32,
    /// Frames the device buffers after the ring (for latency).
    pub device_buffer: usize,
    /// A description for the start-up log.
    pub description: String,
    _keep: Keep,
}

enum Keep {
    /// The clock thread and its own stop flag.
    Null(std::thread::JoinHandle<()>, Arc<AtomicBool>),
    Cpal(#[allow(dead_code)] cpal::Stream),
}

impl OpenAudio {
    /// Stops the back-end; its ring comes back through its `home`.
    pub fn close(self) {
        match self._keep {
            Keep::Null(h, stop) => {
                stop.store(true, Ordering::Relaxed);
                let _ = h.join();
            }
            Keep::Cpal(stream) => drop(stream),
        }
    }

    /// Puts the null back-end's clock thread under `SCHED_FIFO` at
    /// `priority`. Returns false for cpal back-ends, whose callback threads
    /// the host schedules (JACK's and ALSA's are real-time already where the
    /// system allows it).
    pub fn promote(&self, priority: i32) -> Result<bool, AudioError> {
        match &self._keep {
            Keep::Null(h, _) => crate::engine::priority::promote(h, priority)
                .map(|_| true)
                .map_err(AudioError::from),
            _ => Ok(false),
        }
    }
}

/// The body of the audio callback: copies frames from the ring into `out`
/// (interleaved, `channels` wide; mono mixes, extra channels are silent),
/// tees them into the recorder, and counts a short read as one underrun
/// (filled with silence). It stamps the device's position with the system
/// time first ([`position`]): the server's clock follows the device's rate.
///
/// # Real-time safety
/// No allocation, lock, log or I/O (`tests/no_alloc.rs` checks it).
pub fn fill_from_ring(
    ring: &mut OutputRing,
    scratch: &mut [f32],
    out: &mut [f32],
    channels: usize,
    tap: &mut Option<RecordTap>,
    stats: &SharedStats,
) {
    let frames = out.len() / channels.max(1);
    stats.position.stamp(position::unix_now_ns());
    let mut done = 0;
    let mut popped = 0;
    let mut short = false;
    while done < frames {
        let n = (frames - done).min(scratch.len() / 2);
        let got = ring.pop_slice(&mut scratch[..2 * n]) / 2;
        popped += got;
        if got < n {
            short = true;
            scratch[2 * got..2 * n].iter_mut().for_each(|v| *v = 0.0);
        }
        if let Some(t) = tap.as_mut() {
            if t.push_slice(&scratch[..2 * n]) < 2 * n {
                SharedStats::add(&stats.dropped, 1);
            }
        }
        for f in 0..n {
            let (l, r) = (scratch[2 * f], scratch[2 * f + 1]);
            let o = &mut out[(done + f) * channels..(done + f + 1) * channels];
            match channels {
                1 => o[0] = 0.5 * (l + r),
                _ => {
                    o[0] = l;
                    o[1] = r;
                    o[2..].iter_mut().for_each(|v| *v = 0.0);
                }
            }
        }
        done += n;
    }
    stats.position.advance(frames as u64, popped as u64);
    if short {
        SharedStats::add(&stats.underruns, 1);
    }
}

/// The null back-end's period for `block`-frame engine blocks: a quarter
/// block (at least 16 frames), so the engine gets more slack at the same
/// latency (see the server's ring target).
pub fn null_period(block: usize) -> usize {
    (block / 4).max(16)
}

/// Starts the null back-end: a thread that consumes `block` frames every
/// block period, on a deadline clock. `drift_ppm` (a testing aid,
/// `serve --null-drift-ppm`) makes it run that many parts per million fast
/// (positive) or slow against the system clock, as a sound card's crystal
/// does; 0 follows the system clock.
/// The thread stops on `quit` (the server's) or when the back-end is
/// closed, and then hands the ring back through `home`.
pub fn open_null(
    returned: Returned,
    home: Home,
    block: usize,
    sample_rate: u32,
    drift_ppm: f64,
    stats: Arc<SharedStats>,
    quit: Arc<AtomicBool>,
) -> OpenAudio {
    let stop = Arc::new(AtomicBool::new(false));
    let thread_stop = stop.clone();
    let (ring, tap) = returned;
    let mut held = Held {
        ring: Some(ring),
        tap,
        home,
    };
    let handle = std::thread::Builder::new()
        .name("neirosynth-null-audio".into())
        .spawn(move || {
            let mut scratch = vec![0.0f32; 2 * block];
            let mut out = vec![0.0f32; 2 * block];
            let period = block as f64 / (sample_rate as f64 * (1.0 + drift_ppm * 1e-6));
            let running = || !quit.load(Ordering::Relaxed) && !thread_stop.load(Ordering::Relaxed);
            let Held { ring, tap, .. } = &mut held;
            let Some(ring) = ring.as_mut() else { return };
            // Wait for the engine's first blocks, then run on the clock.
            while ring.occupied_len() < 2 * block && running() {
                std::thread::sleep(Duration::from_micros(200));
            }
            let start = Instant::now();
            let mut n: u64 = 0;
            while running() {
                fill_from_ring(ring, &mut scratch, &mut out, 2, tap, &stats);
                n += 1;
                let deadline = start + Duration::from_secs_f64(period * n as f64);
                let now = Instant::now();
                if deadline > now {
                    std::thread::sleep(deadline - now);
                }
            }
        })
        .expect("cannot start the null audio thread");
    OpenAudio {
        sample_rate,
        device_buffer: block,
        description: if drift_ppm == 0.0 {
            format!("null (silent, clocked at {sample_rate} Hz in {block}-frame periods)")
        } else {
            format!(
                "null (silent, clocked at {sample_rate} Hz {drift_ppm:+} ppm in {block}-frame periods: \
                 --null-drift-ppm, a testing aid)"
            )
        },
        _keep: Keep::Null(handle, stop),
    }
}

/// Opens a cpal device (`Default` or `Jack`) at `sample_rate` if it
/// supports it, else at its own rate (the engine then runs at that rate).
/// The stream starts paused; call [`start_cpal`] when the ring is primed.
pub fn open_cpal(
    kind: AudioKind,
    device_name: Option<&str>,
    sample_rate: u32,
    block: usize,
) -> Result<(cpal::Device, cpal::StreamConfig, String), AudioError> {
    use cpal::traits::{DeviceTrait, HostTrait};
    let host = match kind {
        AudioKind::Jack => {
            cpal::host_from_id(cpal::HostId::Jack).map_err(AudioError::JackUnavailable)?
        }
        _ => cpal::default_host(),
    };
    let device = match device_name {
        Some(name) => host
            .output_devices()
            .map_err(AudioError::ListDevices)?
            .find(|d| d.description().map(|x| x.name() == name).unwrap_or(false))
            .ok_or_else(|| AudioError::NoSuchDevice(name.to_string()))?,
        None => host
            .default_output_device()
            .ok_or(AudioError::NoDefaultDevice)?,
    };
    let name = device
        .description()
        .map(|d| d.name().to_string())
        .unwrap_or_else(|_| "(unnamed)".into());
    let default = device
        .default_output_config()
        .map_err(|source| AudioError::NoConfig {
            device: name.clone(),
            source,
        })?;
    let supports_rate = device
        .supported_output_configs()
        .map(|mut it| {
            it.any(|c| c.min_sample_rate() <= sample_rate && sample_rate <= c.max_sample_rate())
        })
        .unwrap_or(false);
    let rate = if supports_rate {
        sample_rate
    } else {
        default.sample_rate()
    };
    let channels = default.channels().max(1);
    let buffer_size = match default.buffer_size() {
        cpal::SupportedBufferSize::Range { min, max }
            if (*min..=*max).contains(&(block as u32)) =>
        {
            cpal::BufferSize::Fixed(block as u32)
        }
        _ => cpal::BufferSize::Default,
    };
    let config = cpal::StreamConfig {
        channels,
        sample_rate: rate,
        buffer_size,
    };
    Ok((device, config, name))
}

/// Builds and starts the cpal output stream reading from the ring. On
/// failure, and when the stream is dropped later, the ring comes back
/// through `home`.
#[allow(clippy::too_many_arguments)]
pub fn start_cpal(
    device: cpal::Device,
    config: cpal::StreamConfig,
    name: String,
    returned: Returned,
    home: Home,
    block: usize,
    stats: Arc<SharedStats>,
    health: Arc<DeviceHealth>,
) -> Result<OpenAudio, AudioError> {
    use cpal::traits::{DeviceTrait, StreamTrait};
    let channels = config.channels as usize;
    let rate = config.sample_rate;
    let mut scratch = vec![0.0f32; 2 * 4096];
    let cb_stats = stats.clone();
    let (ring, tap) = returned;
    let mut held = Held {
        ring: Some(ring),
        tap,
        home,
    };
    let stream = device
        .build_output_stream::<f32, _, _>(
            config,
            move |data: &mut [f32], _info: &cpal::OutputCallbackInfo| {
                let Held { ring, tap, .. } = &mut held;
                match ring.as_mut() {
                    Some(ring) => {
                        fill_from_ring(ring, &mut scratch, data, channels, tap, &cb_stats)
                    }
                    None => data.iter_mut().for_each(|v| *v = 0.0),
                }
            },
            move |err| {
                // The supervisor reports it (no logging here).
                health.report(err.kind());
            },
            None,
        )
        .map_err(|source| AudioError::OpenStream {
            device: name.clone(),
            source,
        })?;
    stream.play().map_err(|source| AudioError::StartStream {
        device: name.clone(),
        source,
    })?;
    let device_buffer = stream.buffer_size().map(|b| b as usize).unwrap_or(block);
    Ok(OpenAudio {
        sample_rate: rate,
        device_buffer,
        description: format!(
            "{name} ({channels} channels, {rate} Hz, {device_buffer}-frame device buffer)"
        ),
        _keep: Keep::Cpal(stream),
    })
}
