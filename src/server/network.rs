//! The network side of the server: receives UDP datagrams, decodes them,
//! maps their timetags to engine frames and routes them; sends the replies.
//! Allocation is fine here (never the engine thread).

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::Ordering;

use super::clock::Clock;
use super::router::{Output, Router};
use crate::audio::stats::SharedStats;
use crate::control::osc::{decode_packet, Timetag};
use crate::control::reply;

/// The server's UDP socket and its receive buffer.
pub struct Network {
    socket: UdpSocket,
    buf: Vec<u8>,
}

impl Network {
    /// Wraps a bound socket (its read timeout paces the control loop).
    pub fn new(socket: UdpSocket) -> Self {
        Self {
            socket,
            buf: vec![0u8; 65536],
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
        match self.socket.recv_from(&mut self.buf) {
            Ok((n, from)) => handle_packet(&self.buf[..n], from, router, clock, stats, out),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock
                        | std::io::ErrorKind::TimedOut
                        | std::io::ErrorKind::Interrupted
                ) => {}
            Err(e) => tracing::warn!("udp receive: {e}"),
        }
    }

    /// Sends (and empties) the replies in `out`.
    pub fn send_replies(&self, out: &mut Output) {
        for (to, msg) in out.replies.drain(..) {
            let _ = self.socket.send_to(&reply::encode(msg), to);
        }
    }
}

/// Decodes and routes one UDP packet.
fn handle_packet(
    bytes: &[u8],
    from: SocketAddr,
    router: &mut Router,
    clock: &Clock,
    stats: &SharedStats,
    out: &mut Output,
) {
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
            None => SharedStats::add(&stats.dropped, 1),
        },
    }
}
