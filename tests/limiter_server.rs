//! The master limiter in the running server: 32 voices of the loudest
//! shipped instrument at velocity 1, recorded (`serve --record`): no sample
//! above −0.3 dBFS, none non-finite, and the limiter's gain reduction is
//! reported in `/status` (extensions 15 and 16: now and peak, dB).
//!
//! The loudest shipped instrument at velocity 1 is `trained_high_tom`
//! (+16.2 dBFS at note 64, the loudest of 24–108; every hand-designed
//! instrument peaks below −2 dBFS at its reference note); the test checks
//! that one voice of it alone passes full scale, so the limiter has work to
//! do.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::server::{f, i, s, Server};
use neirosynth::instrument::Instrument;
use neirosynth::master::limiter::CEILING;
use neirosynth::render::{render_note_cpu, NoteSpec, RenderSettings};
use rosc::OscType;

const LOUDEST: &str = "trained_high_tom";

fn float(v: &OscType) -> f32 {
    match v {
        OscType::Float(x) => *x,
        other => panic!("expected f, got {other:?}"),
    }
}

#[test]
fn thirty_two_loud_voices_never_pass_the_ceiling() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("instruments/{LOUDEST}.json"));
    // One voice alone is already above full scale.
    let inst = Arc::new(Instrument::load(&file).unwrap());
    let spec = NoteSpec {
        request: inst.note_request(64.0, 1.0),
        duration: 0.5,
        release_at: None,
    };
    let alone = render_note_cpu(&inst, &spec, RenderSettings::default())
        .unwrap()
        .peak();
    assert!(alone > 1.0, "{LOUDEST} note 64 alone peaks at {alone}");

    let wav = std::env::temp_dir().join(format!("neirosynth-limit32-{}.wav", std::process::id()));
    let mut srv = Server::start(
        "limit32",
        &["--voices", "32", "--record", wav.to_str().unwrap()],
    );
    std::fs::copy(&file, srv.dir.join(format!("{LOUDEST}.json"))).unwrap();
    let mut c = srv.client();
    c.ask("/inst/load", vec![s(LOUDEST)], "/done");
    for k in 0..32 {
        // Notes 56..71, twice, all at velocity 1, panned across.
        c.send(
            "/voice/new",
            vec![
                i(100 + k),
                s(LOUDEST),
                f(56.0 + (k % 16) as f32),
                f(1.0),
                s("pan"),
                f(k as f32 / 15.5 - 1.0),
            ],
        );
    }
    c.sync();
    std::thread::sleep(Duration::from_millis(1500));
    let st = c.status();
    let (now_db, peak_db) = (float(&st[14]), float(&st[15]));
    c.send("/quit", vec![]);
    assert_eq!(srv.wait_exit(Duration::from_secs(10)), Some(0));
    let r = hound::WavReader::open(&wav).unwrap();
    let samples: Vec<f32> = r.into_samples::<f32>().map(|x| x.unwrap()).collect();
    let _ = std::fs::remove_file(&wav);
    assert!(samples.iter().all(|v| v.is_finite()), "a non-finite sample");
    let peak = samples.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    eprintln!(
        "32 voices: recorded peak {:.2} dBFS; limiter reduction now {now_db:.1} dB, peak {peak_db:.1} dB",
        20.0 * peak.log10()
    );
    assert!(peak > 0.5, "the voices played: peak {peak}");
    assert!(
        CEILING as f64 <= 10f64.powf(-0.3 / 20.0),
        "the ceiling {CEILING} is above −0.3 dBFS"
    );
    assert!(peak <= CEILING, "recorded peak {peak} above −0.3 dBFS");
    assert!(
        peak_db > 6.0,
        "the limiter's peak gain reduction in /status: {peak_db} dB ({st:?})"
    );
}
