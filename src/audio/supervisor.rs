//! Keeps audio flowing for months: watches the output device and, when it
//! fails (unplugged, JACK server stopped, configuration invalidated), moves
//! the engine's ring to the null back-end so the engine, the clock and the
//! control surface keep running, then retries the device every
//! [`RETRY_PERIOD`] until it is back.
//!
//! Control-side code (runs on the server's main thread; may log, allocate
//! and block briefly). The real-time callbacks only set atomics
//! ([`DeviceHealth`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::stats::SharedStats;
use super::{
    open_cpal, open_null, start_cpal, AudioError, AudioKind, DeviceHealth, Home, OpenAudio,
    Returned,
};

/// How often a lost device is tried again.
pub const RETRY_PERIOD: Duration = Duration::from_secs(2);

/// How long a stopping back-end may take to hand its ring back.
const HANDBACK_TIMEOUT: Duration = Duration::from_secs(3);

/// Settings the supervisor reopens the device with.
#[derive(Clone, Debug)]
pub struct DeviceRequest {
    /// Back-end chosen by the user.
    pub kind: AudioKind,
    /// Device name, if one was asked for.
    pub name: Option<String>,
    /// The engine's sample rate (a reopened device must run at it).
    pub sample_rate: u32,
    /// Block size, frames.
    pub block: usize,
    /// The null back-end's simulated rate error, ppm (`--null-drift-ppm`).
    pub null_drift_ppm: f64,
}

/// Owns the running back-end and replaces it when it fails.
pub struct AudioSupervisor {
    request: DeviceRequest,
    audio: Option<OpenAudio>,
    home: Home,
    returns: crossbeam_channel::Receiver<Returned>,
    stats: Arc<SharedStats>,
    health: Arc<DeviceHealth>,
    quit: Arc<AtomicBool>,
    /// SCHED_FIFO priority for a null clock thread started later.
    null_priority: Option<i32>,
    /// Frames the engine keeps in the ring (for the latency figure).
    ring_frames: usize,
    /// Set while running on the null back-end in place of a lost device.
    retry_at: Option<Instant>,
    xruns_seen: u64,
}

impl AudioSupervisor {
    /// Takes charge of `audio`, started with `request`. `home`/`returns` is
    /// the channel its ring comes back on; `health` is what its callbacks
    /// report into.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        request: DeviceRequest,
        audio: OpenAudio,
        home: Home,
        returns: crossbeam_channel::Receiver<Returned>,
        stats: Arc<SharedStats>,
        health: Arc<DeviceHealth>,
        quit: Arc<AtomicBool>,
        ring_frames: usize,
    ) -> Self {
        let s = Self {
            request,
            audio: Some(audio),
            home,
            returns,
            stats,
            health,
            quit,
            null_priority: None,
            ring_frames,
            retry_at: None,
            xruns_seen: 0,
        };
        s.publish_latency();
        s
    }

    /// Priority for null clock threads started from now on.
    pub fn set_null_priority(&mut self, priority: Option<i32>) {
        self.null_priority = priority;
    }

    /// Output latency of the running back-end, frames.
    pub fn latency_frames(&self) -> usize {
        self.ring_frames + self.audio.as_ref().map_or(0, |a| a.device_buffer)
    }

    /// Sets the frames between the engine and the device (ring target plus
    /// any engine lag) and republishes the latency.
    pub fn set_ring_frames(&mut self, frames: usize) {
        self.ring_frames = frames;
        self.publish_latency();
    }

    fn publish_latency(&self) {
        let rate = self.request.sample_rate as f32;
        self.stats
            .set_latency_ms(1000.0 * self.latency_frames() as f32 / rate);
    }

    /// Checks the device; call it often from the control loop. Fails over
    /// to the null back-end on a fault and retries the device on schedule.
    pub fn poll(&mut self) {
        let xruns = self.health.xruns.load(Ordering::Relaxed);
        if xruns > self.xruns_seen {
            // A device-side xrun is an audible dropout: count it as one.
            SharedStats::add(&self.stats.underruns, xruns - self.xruns_seen);
            self.xruns_seen = xruns;
        }
        let fault = self.health.take_fault();
        if fault != super::DeviceFault::None && self.retry_at.is_none() {
            tracing::error!(
                "audio: {}; the server keeps running on the null back-end (silent) and retries \
                 the device every {} s",
                fault.describe(),
                RETRY_PERIOD.as_secs()
            );
            if let Some(returned) = self.stop_current() {
                self.start_null(returned);
            }
            self.retry_at = Some(Instant::now() + RETRY_PERIOD);
        }
        if let Some(at) = self.retry_at {
            if Instant::now() >= at && !self.quit.load(Ordering::Relaxed) {
                match self.try_reopen() {
                    Ok(()) => self.retry_at = None,
                    Err(e) => {
                        tracing::debug!("audio: device not back yet: {e}");
                        self.retry_at = Some(Instant::now() + RETRY_PERIOD);
                    }
                }
            }
        }
    }

    /// Stops the running back-end and waits for its ring.
    fn stop_current(&mut self) -> Option<Returned> {
        let audio = self.audio.take()?;
        audio.close();
        match self.returns.recv_timeout(HANDBACK_TIMEOUT) {
            Ok(r) => Some(r),
            Err(_) => {
                tracing::error!("audio: the stopped back-end did not hand its ring back");
                None
            }
        }
    }

    fn start_null(&mut self, returned: Returned) {
        let audio = open_null(
            returned,
            self.home.clone(),
            super::null_period(self.request.block),
            self.request.sample_rate,
            self.request.null_drift_ppm,
            self.stats.clone(),
            self.quit.clone(),
        );
        if let Some(p) = self.null_priority {
            if let Err(e) = audio.promote(p) {
                tracing::warn!("audio: null clock at normal priority: {e}");
            }
        }
        tracing::info!("audio: {}", audio.description);
        self.audio = Some(audio);
        self.publish_latency();
    }

    /// Opens the device again; on success the null back-end hands over.
    fn try_reopen(&mut self) -> Result<(), AudioError> {
        let r = self.request.clone();
        let (device, config, name) = open_cpal(r.kind, r.name.as_deref(), r.sample_rate, r.block)?;
        if config.sample_rate != r.sample_rate {
            return Err(AudioError::RateMismatch {
                device: name,
                device_rate: config.sample_rate,
                engine_rate: r.sample_rate,
            });
        }
        let Some(returned) = self.stop_current() else {
            return Err(AudioError::RingNotReturned);
        };
        self.health.take_fault();
        match start_cpal(
            device,
            config,
            name,
            returned,
            self.home.clone(),
            r.block,
            self.stats.clone(),
            self.health.clone(),
        ) {
            Ok(audio) => {
                tracing::info!("audio: the device is back: {}", audio.description);
                self.audio = Some(audio);
                self.publish_latency();
                Ok(())
            }
            Err(e) => {
                // The failed stream dropped its callback: the ring is home.
                match self.returns.recv_timeout(HANDBACK_TIMEOUT) {
                    Ok(returned) => self.start_null(returned),
                    Err(_) => tracing::error!("audio: the ring was lost with the failed stream"),
                }
                Err(e)
            }
        }
    }

    /// Stops the back-end for good (server shutdown).
    pub fn close(mut self) {
        if let Some(a) = self.audio.take() {
            a.close();
        }
    }
}
