//! Flood: 10,000 messages per second for 5 s on loopback. The server keeps
//! playing, still answers, counts what it dropped, and the recording of
//! its output has sound all the way through.

mod common;

use std::time::{Duration, Instant};

use common::server::{f, i, int, s, Server};

#[test]
fn flood_of_messages_keeps_the_server_playing() {
    let wav = std::env::temp_dir().join(format!("neirosynth-flood-{}.wav", std::process::id()));
    let mut srv = Server::start("flood", &["--record", wav.to_str().unwrap()]);
    let mut c = srv.client();
    c.send(
        "/voice/new",
        vec![i(1), s("small"), f(45.0), f(1.0), s("damping"), f(0.1)],
    );
    c.sync();
    let garbage = [0xffu8, 0x00, 0x13];
    let start = Instant::now();
    let mut sent = 0u32;
    while start.elapsed() < Duration::from_secs(5) {
        // 100 messages every 10 ms.
        for k in 0..100u32 {
            match k % 5 {
                0 => c.send(
                    "/voice/set",
                    vec![i(1), s("pan"), f((k as f32 / 50.0) - 1.0)],
                ),
                1 => c.send("/excite", vec![i(1), f(0.3), f(0.6), f(0.2)]),
                2 => c.send(
                    "/note/on",
                    vec![s("small"), f(50.0 + (sent % 24) as f32), f(0.3)],
                ),
                3 => c.send("/pickup", vec![i(1), f(0.2), f(0.3), f(0.7), f(0.8)]),
                _ => c.send_raw(&garbage),
            }
            sent += 1;
        }
        let next = Duration::from_millis(10 * (sent as u64 / 100));
        if let Some(wait) = next.checked_sub(start.elapsed()) {
            std::thread::sleep(wait);
        }
    }
    assert!(sent >= 45_000, "sent only {sent}");
    c.sync();
    let st = c.status();
    assert!(int(&st[0]) >= 1, "voices still sounding: {st:?}");
    assert!(
        int(&st[7]) > 0,
        "garbage packets are counted as dropped: {st:?}"
    );
    c.send("/quit", vec![]);
    assert_eq!(srv.wait_exit(Duration::from_secs(10)), Some(0));
    let r = hound::WavReader::open(&wav).unwrap();
    let samples: Vec<f32> = r.into_samples::<f32>().map(|x| x.unwrap()).collect();
    let _ = std::fs::remove_file(&wav);
    assert!(
        samples.len() / 2 > 5 * 48000,
        "recorded {} frames",
        samples.len() / 2
    );
    assert!(samples.iter().all(|v| v.is_finite()));
    // Sound in every half second of the flood.
    for (n, chunk) in samples.chunks(48000).enumerate().take(10) {
        let peak = chunk.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!(peak > 1e-4, "silent half-second {n}");
    }
}
