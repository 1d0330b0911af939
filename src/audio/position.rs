//! Where the output device is, and when: the audio callback stamps the
//! frame it is about to play with the system time, so that the server's
//! clock can follow the device's own rate (its crystal runs some tens of
//! ppm off the system clock).
//!
//! # Real-time safety
//! The callback side ([`DevicePosition::stamp`], [`DevicePosition::advance`])
//! only loads and stores atomics and reads the system clock (a vDSO call:
//! no lock, no allocation, no system call on Linux). The reader (the
//! server's control thread) retries a torn read: a sequence lock, one
//! writer at a time (the running back-end).

use std::sync::atomic::{fence, AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// One stamp of the device's position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Observation {
    /// Frames the device has output since the server started, silence
    /// filled in for underruns included (the device's own count).
    pub device_frames: u64,
    /// Frames taken from the engine's ring by then: `device_frames` minus
    /// the underrun silence.
    pub ring_frames: u64,
    /// When the callback that starts at `device_frames` ran: system time,
    /// nanoseconds since the Unix epoch.
    pub unix_ns: u64,
}

/// The device's position, published by the audio callback: running
/// counts (the writer's own) and the latest stamp (a sequence lock over
/// three atomics).
#[derive(Debug, Default)]
pub struct DevicePosition {
    device_count: AtomicU64,
    ring_count: AtomicU64,
    seq: AtomicU64,
    device_frames: AtomicU64,
    ring_frames: AtomicU64,
    unix_ns: AtomicU64,
    /// The first stamp's time (device frame 0).
    first_unix_ns: AtomicU64,
}

/// The system time now, nanoseconds since the Unix epoch (0 before it).
pub fn unix_now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

impl DevicePosition {
    /// Audio callback: the device starts playing its next frame at
    /// `unix_ns` (read at the top of the callback).
    pub fn stamp(&self, unix_ns: u64) {
        // One writer: its own stores need no read-modify-write.
        let s = self.seq.load(Ordering::Relaxed);
        self.seq.store(s.wrapping_add(1), Ordering::Relaxed);
        fence(Ordering::Release);
        self.device_frames
            .store(self.device_count.load(Ordering::Relaxed), Ordering::Relaxed);
        self.ring_frames
            .store(self.ring_count.load(Ordering::Relaxed), Ordering::Relaxed);
        self.unix_ns.store(unix_ns, Ordering::Relaxed);
        self.seq.store(s.wrapping_add(2), Ordering::Release);
        if self.first_unix_ns.load(Ordering::Relaxed) == 0 {
            self.first_unix_ns.store(unix_ns, Ordering::Relaxed);
        }
    }

    /// When the device started its frame 0 (the first stamp), system time
    /// in nanoseconds since the Unix epoch; 0 before it.
    pub fn first_unix_ns(&self) -> u64 {
        self.first_unix_ns.load(Ordering::Relaxed)
    }

    /// Audio callback: `device` frames went out, `ring` of them from the
    /// engine's ring (the rest is underrun silence).
    pub fn advance(&self, device: u64, ring: u64) {
        let d = self.device_count.load(Ordering::Relaxed);
        self.device_count.store(d + device, Ordering::Relaxed);
        let r = self.ring_count.load(Ordering::Relaxed);
        self.ring_count.store(r + ring, Ordering::Relaxed);
    }

    /// The latest stamp with the position it was taken at (`None` before
    /// the first callback, or when the writer keeps tearing the read).
    pub fn latest(&self) -> Option<Observation> {
        for _ in 0..64 {
            let s0 = self.seq.load(Ordering::Acquire);
            if s0 & 1 == 1 {
                std::hint::spin_loop();
                continue;
            }
            let unix_ns = self.unix_ns.load(Ordering::Relaxed);
            let device_frames = self.device_frames.load(Ordering::Relaxed);
            let ring_frames = self.ring_frames.load(Ordering::Relaxed);
            fence(Ordering::Acquire);
            if self.seq.load(Ordering::Relaxed) == s0 {
                return (unix_ns != 0).then_some(Observation {
                    device_frames,
                    ring_frames,
                    unix_ns,
                });
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stamp reads back with the frames counted before it.
    #[test]
    fn stamps_and_counts() {
        let p = DevicePosition::default();
        assert_eq!(p.latest(), None);
        p.stamp(1000);
        p.advance(64, 64);
        p.stamp(2000);
        p.advance(64, 10);
        p.stamp(3000);
        assert_eq!(p.first_unix_ns(), 1000);
        assert_eq!(
            p.latest(),
            Some(Observation {
                device_frames: 128,
                ring_frames: 74,
                unix_ns: 3000
            })
        );
    }

    /// A reader racing a writer never sees a torn stamp: the time and the
    /// frames always belong together. The writer runs until the reader has
    /// checked 1,000 stamps taken while it wrote (on a loaded machine the
    /// reader may not run at all during a fixed number of writes).
    #[test]
    fn reads_are_never_torn() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        const READS: usize = 1000;
        let p = std::sync::Arc::new(DevicePosition::default());
        let seen = std::sync::Arc::new(AtomicUsize::new(0));
        let (w, reads) = (p.clone(), seen.clone());
        let writer = std::thread::spawn(move || {
            let mut k = 1u64;
            while reads.load(Ordering::Relaxed) < READS && k < 100_000_000 {
                // Time k·1000 is stamped at frame (k−1)·64.
                w.stamp(k * 1000);
                w.advance(64, 64);
                k += 1;
            }
        });
        while !writer.is_finished() {
            if let Some(o) = p.latest() {
                // The frames are those at the stamp, never later ones.
                let k = o.unix_ns / 1000;
                assert_eq!(o.device_frames, (k - 1) * 64, "{o:?}");
                assert_eq!(o.device_frames, o.ring_frames);
                seen.fetch_add(1, Ordering::Relaxed);
            }
        }
        writer.join().unwrap();
        assert!(seen.load(Ordering::Relaxed) >= READS);
    }
}
