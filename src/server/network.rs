//! The network side of the server: receives UDP datagrams, decodes them,
//! maps their timetags to engine frames and routes them; sends the replies.
//! Allocation is fine here (never the engine thread). Its warnings are
//! rate-limited (`log_limit`): a flood of bad packets logs a few lines a
//! second and a count of the rest.

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::Ordering;
use std::time::Instant;

use super::clock::Clock;
use super::log_limit::{RateLimit, Verdict};
use super::router::{Output, Router};
use crate::audio::stats::SharedStats;
use crate::control::osc::{decode_packet, Timetag};
use crate::control::reply;

/// The server's UDP socket and its receive buffer.
pub struct Network {
    socket: UdpSocket,
    buf: Vec<u8>,
    /// Warnings about undecodable packets.
    undecodable: RateLimit,
    /// Warnings about the socket.
    socket_errors: RateLimit,
}

/// Lines a second each kind of warning may log.
const WARNINGS_PER_SECOND: u32 = 5;

impl Network {
    /// Wraps a bound socket (its read timeout paces the control loop).
    pub fn new(socket: UdpSocket) -> Self {
        Self {
            socket,
            buf: vec![0u8; 65536],
            undecodable: RateLimit::new(WARNINGS_PER_SECOND),
            socket_errors: RateLimit::new(WARNINGS_PER_SECOND),
        }
    }

    /// Waits (up to the socket's read timeout) for one datagram and routes
    /// it into `out`.
    pub fn receive(
        &mut self,
        router: &mut Router,
        clock: &Clock,
        stats: &SharedStats,
        out: &mut Output,
    ) {
        let now = Instant::now();
        for (what, limit) in [
            ("undecodable packets", &mut self.undecodable),
            ("udp receive errors", &mut self.socket_errors),
        ] {
            let n = limit.flush(now);
            if n > 0 {
                tracing::warn!("suppressed {n} similar warnings ({what}) in the last second");
            }
        }
        match self.socket.recv_from(&mut self.buf) {
            Ok((n, from)) => {
                if let Err(why) = handle_packet(&self.buf[..n], from, router, clock, stats, out) {
                    warn_limited(
                        &mut self.undecodable,
                        now,
                        format_args!("undecodable packet ({n} bytes) from {from}: {why}"),
                    );
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock
                        | std::io::ErrorKind::TimedOut
                        | std::io::ErrorKind::Interrupted
                ) => {}
            Err(e) => warn_limited(
                &mut self.socket_errors,
                now,
                format_args!("udp receive: {e}"),
            ),
        }
    }

    /// Sends (and empties) the replies in `out`.
    pub fn send_replies(&self, out: &mut Output) {
        for (to, msg) in out.replies.drain(..) {
            let _ = self.socket.send_to(&reply::encode(msg), to);
        }
    }
}

/// Logs `message` within `limit`'s budget, first saying how many similar
/// ones it suppressed.
fn warn_limited(limit: &mut RateLimit, now: Instant, message: std::fmt::Arguments<'_>) {
    if let Verdict::Log { suppressed } = limit.check(now) {
        if suppressed > 0 {
            tracing::warn!("suppressed {suppressed} similar warnings");
        }
        tracing::warn!("{message}");
    }
}

/// Decodes and routes one UDP packet. A packet that does not decode and
/// names no address (so no `/fail` can say why) is counted as dropped and
/// its reason returned.
fn handle_packet(
    bytes: &[u8],
    from: SocketAddr,
    router: &mut Router,
    clock: &Clock,
    stats: &SharedStats,
    out: &mut Output,
) -> Result<(), String> {
    match decode_packet(bytes) {
        Ok(msgs) => {
            let mut last_late: Option<Timetag> = None;
            let engine_frame = stats.engine_frames.load(Ordering::Relaxed);
            for m in msgs {
                let (frame, late) = clock.frame(m.timetag, engine_frame);
                if late && last_late != Some(m.timetag) {
                    SharedStats::add(&stats.late_bundles, 1);
                    last_late = Some(m.timetag);
                }
                router.handle_timed(&m.message, from, frame, out);
            }
        }
        Err(e) => match e.address() {
            Some(addr) => {
                let to = router.reply_to(from);
                out.replies.push((to, reply::fail(addr, &e.to_string())));
            }
            None => {
                SharedStats::add(&stats.dropped, 1);
                return Err(e.to_string());
            }
        },
    }
    Ok(())
}
