//! The clock against a simulated sound card: a crystal N ppm off the
//! system clock, callbacks stamped with jitter, over simulated hours.

use super::*;
use crate::control::osc::seconds_to_ntp;

const RATE: f64 = 48000.0;
/// Frames per callback.
const PERIOD: u64 = 64;
/// Frames in the output ring, and after it in the device.
const RING: usize = 448;
const DEVICE_BUFFER: usize = 64;
/// NTP seconds of the server's start (some day in 2023).
const ORIGIN_S: f64 = 3.9e9;

/// A small deterministic generator (xorshift64*), uniform in [0, 1).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn ntp(t: f64) -> u64 {
    seconds_to_ntp(ORIGIN_S + t)
}

/// A card `ppm` fast (negative: slow) that starts 0.3 s after the server,
/// its callbacks stamped late by up to 1 ms (1 % of them up to 9 ms, and a
/// rare 30 ms stall), with an underrun (one period of silence) now and then.
struct Card {
    rate: f64,
    start: f64,
    k: u64,
    silence: u64,
    rng: Rng,
}

impl Card {
    fn new(ppm: f64) -> Self {
        Self {
            rate: RATE * (1.0 + ppm * 1e-6),
            start: 0.3,
            k: 0,
            silence: 0,
            rng: Rng(0x9E37_79B9_7F4A_7C15 ^ ppm.to_bits()),
        }
    }
    /// True (system) time at which the callback now due runs.
    fn due(&self) -> f64 {
        self.start + (self.k * PERIOD) as f64 / self.rate
    }
    /// Runs the callback now due: its stamp, and its stamped time.
    fn callback(&mut self) -> (Observation, f64) {
        let d = self.k * PERIOD;
        let mut jitter = 0.001 * self.rng.next();
        let r = self.rng.next();
        if r < 0.01 {
            jitter += 0.008 * self.rng.next();
        }
        if r > 0.99999 {
            jitter += 0.03;
        }
        let o = Observation {
            device_frames: d,
            ring_frames: d - self.silence,
            unix_ns: 0,
        };
        if self.rng.next() < 1e-5 {
            self.silence += PERIOD;
        }
        self.k += 1;
        (o, self.due() - (PERIOD as f64) / self.rate + jitter)
    }
    /// True time at which engine frame `f` is heard (the engine adds no
    /// lag here: the latency is the ring and the device buffer).
    fn heard(&self, f: u64) -> f64 {
        self.start + (f + self.silence + DEVICE_BUFFER as u64) as f64 / self.rate
    }
    /// The same without the underrun silence (to compare clocks alone).
    fn heard_without_silence(&self, f: u64) -> f64 {
        self.heard(f) - self.silence as f64 / self.rate
    }
}

fn clock() -> Clock {
    Clock::start_at(ntp(0.0), RATE, RING + DEVICE_BUFFER, RING, 10.0, false)
}

/// The mapped engine frame of a timetag, sent `ahead` seconds before it.
fn schedule(c: &Clock, at: f64, ahead: f64) -> u64 {
    let (f, late) = c.frame_at(Timetag::At { ntp: ntp(at) }, 0, ntp(at - ahead));
    assert!(!late, "a bundle {ahead} s ahead is not late");
    f.unwrap()
}

/// What one simulated run measured.
struct Run {
    /// Heard time − timetag of the notes at 30 s and one hour later, s.
    errors: [f64; 2],
    /// The same with the start-up origin fixed (the old mapping), s.
    fixed_errors: [f64; 2],
    /// The drift estimate at the end, ppm.
    drift_ppm: f64,
    /// Largest move of a note 1 s ahead on one update, s: in the first
    /// 30 s (locking), and after.
    moved: [f64; 2],
    /// Whether notes sent in timetag order always mapped in frame order.
    in_order: bool,
}

/// Runs a card `ppm` off for `hours` of simulated time (plus 35 s), the
/// control thread reading every second stamp.
fn run(ppm: f64, hours: f64) -> Run {
    let mut c = clock();
    let fixed = clock();
    let mut card = Card::new(ppm);
    let notes = [30.0, 30.0 + 3600.0 * hours];
    let (mut errors, mut fixed_errors) = ([0.0; 2], [0.0; 2]);
    let mut next_note = 0;
    let mut moved = [0.0f64; 2];
    let (mut last_frame, mut in_order) = (0u64, true);
    let end = notes[1] + 5.0;
    while card.due() < end {
        let (o, stamped) = card.callback();
        if !card.k.is_multiple_of(2) {
            continue;
        }
        // Where a note 1 s ahead plays, in device frames (underrun silence
        // moves it in engine frames, rightly).
        let probe = ntp(stamped + 1.0);
        let before = c.engine_frame_at(probe) + c.silence as f64;
        let was_locked = c.dll.is_locked();
        c.observe(o, ntp(stamped));
        if was_locked {
            let m = (c.engine_frame_at(probe) + c.silence as f64 - before).abs() / RATE;
            let i = usize::from(stamped > 30.0);
            moved[i] = moved[i].max(m);
        }
        // A bundle 0.5 s ahead now: its frame comes after the previous one's.
        if card.k.is_multiple_of(64) && was_locked {
            let f = schedule(&c, stamped + 0.5, 0.5);
            in_order &= f >= last_frame;
            last_frame = f;
        }
        if next_note < 2 && stamped >= notes[next_note] - 0.5 {
            let at = notes[next_note];
            errors[next_note] = card.heard(schedule(&c, at, 0.5)) - at;
            fixed_errors[next_note] = card.heard_without_silence(schedule(&fixed, at, 0.5)) - at;
            next_note += 1;
        }
    }
    assert_eq!(next_note, 2);
    Run {
        errors,
        fixed_errors,
        drift_ppm: c.drift_ppm(),
        moved,
        in_order,
    }
}

/// Bundles timetagged one simulated hour apart start within 1 ms of their
/// timetags on a card ±100 ppm (and 20 ppm) off, where the fixed origin
/// would be about 360 ms (72 ms) off; the drift estimate is within
/// 0.5 ppm; no update moves a note 1 s ahead by more than 0.25 ms while
/// locking (30 µs, about a frame, after the first 30 s), and notes sent in order play in
/// order.
#[test]
fn follows_a_drifting_card_for_an_hour() {
    for ppm in [100.0, -100.0, 20.0] {
        let r = run(ppm, 1.0);
        eprintln!(
            "{ppm:+} ppm: errors {:.3?} ms, fixed origin {:.1?} ms, estimate {:.3} ppm, \
             moves {:.4?} ms",
            r.errors.map(|e| e * 1e3),
            r.fixed_errors.map(|e| e * 1e3),
            r.drift_ppm,
            r.moved.map(|m| m * 1e3)
        );
        for e in r.errors {
            assert!(e.abs() < 0.001, "{ppm} ppm: a note {e} s off its timetag");
        }
        // The old mapping drifts by the card's error over the hour.
        let drift = r.fixed_errors[1] - r.fixed_errors[0];
        let expect = -3600.0 * ppm * 1e-6 / (1.0 + ppm * 1e-6);
        assert!(
            (drift - expect).abs() < 0.005,
            "{ppm} ppm: the fixed origin drifted {drift} s, not about {expect} s"
        );
        assert!(
            (r.drift_ppm - ppm).abs() < 0.5,
            "{ppm} ppm: estimated {} ppm",
            r.drift_ppm
        );
        assert!(
            r.moved[0] < 2.5e-4,
            "{ppm} ppm: a note moved {} s",
            r.moved[0]
        );
        assert!(
            r.moved[1] < 3e-5,
            "{ppm} ppm: a note moved {} s",
            r.moved[1]
        );
        assert!(
            r.in_order,
            "{ppm} ppm: notes sent in order played out of order"
        );
    }
}

/// Before the device's first stamp the clock maps from its start-up origin
/// at the nominal rate, and reports no drift.
#[test]
fn untracked_until_the_first_stamp() {
    let c = clock();
    assert_eq!(c.drift_ppm(), 0.0);
    let f = schedule(&c, 1.0, 0.5);
    assert_eq!(f, 48000 - (RING + DEVICE_BUFFER) as u64);
}

/// A mapping is monotonic in the timetag: later timetags, later frames.
#[test]
fn mapping_is_monotonic() {
    let mut c = clock();
    let mut card = Card::new(-100.0);
    while card.due() < 20.0 {
        let (o, t) = card.callback();
        c.observe(o, ntp(t));
    }
    let frames: Vec<u64> = (0..2000)
        .map(|k| schedule(&c, 21.0 + k as f64 * 1e-4, 1.0))
        .collect();
    assert!(frames.windows(2).all(|w| w[0] <= w[1]));
    assert!(frames[1999] > frames[0]);
}

/// A device replaced (the back-end switched, its frames restarting at
/// another time) re-anchors the clock within half a second; a lone stall
/// does not.
#[test]
fn re_anchors_when_the_device_jumps() {
    let mut c = clock();
    let mut card = Card::new(50.0);
    while card.due() < 10.0 {
        let (o, t) = card.callback();
        c.observe(o, ntp(t));
    }
    // A callback stalled 40 ms: ignored.
    let (o, t) = card.callback();
    c.observe(o, ntp(t + 0.04));
    while card.due() < 10.5 {
        let (o, t) = card.callback();
        c.observe(o, ntp(t));
    }
    assert_eq!(c.dll.relocks(), 0);
    // The device now plays its frames 80 ms later than before.
    card.start += 0.08;
    while card.due() < 12.0 {
        let (o, t) = card.callback();
        c.observe(o, ntp(t));
    }
    let e = card.heard(schedule(&c, 12.5, 0.5)) - 12.5;
    assert!(e.abs() < 0.002, "{e} s off after the jump");
    assert_eq!(c.dll.relocks(), 1);
}
