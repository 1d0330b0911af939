//! Training with the bow (`train --excite bow`): a bowed target rendered
//! from the shipped string with a known bow force is learned as a bowed
//! model; the trained file stores its bow force and velocity and plays
//! bowed, sustained, with them.

mod common;

use common::files::{bank_dir, scratch_dir, write_mono_wav};

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use neirosynth::instrument::Instrument;
use neirosynth::train::fit::{self, NoteTarget};
use neirosynth::train::loss::LossConfig;
use neirosynth::train::{target, train, Mode, Problem, Quiet, TrainOptions};
use neirosynth::types::ExciteShape;

/// Scratch folders of this suite: `neirosynth-bow-train-…`.
const SUITE: &str = "bow-train";

fn rms_db(y: &[f64]) -> f64 {
    let ms = y.iter().map(|v| v * v).sum::<f64>() / y.len().max(1) as f64;
    10.0 * ms.max(1e-24).log10()
}

/// The string bowed at force `force` (velocity 0.3), as an instrument.
fn bowed_string(force: f64) -> Arc<Instrument> {
    let string = Instrument::load(&bank_dir().join("string.json")).unwrap();
    let mut file = string.file.clone();
    file.excitation.shape = ExciteShape::Bow;
    file.excitation.bow_force = Some(force);
    file.excitation.bow_velocity = Some(0.3);
    Arc::new(Instrument::from_file(file, "bowed string").unwrap())
}

#[test]
fn a_bowed_target_trains_a_bowed_model_with_its_bow_force() {
    let d = scratch_dir(SUITE, "bow");
    const TRUE_FORCE: f64 = 0.12;
    let truth = bowed_string(TRUE_FORCE);
    let y = fit::render_mono(&truth, 50.0, 1.0).unwrap();
    let peak = y.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let wav = d.join("bowed_D3.wav");
    write_mono_wav(&wav, &y, 0.5 / peak);

    let string = Arc::new(Instrument::load(&bank_dir().join("string.json")).unwrap());
    let out = d.join("bowed.json");
    let opts = TrainOptions {
        targets: vec![wav.clone()],
        out: out.clone(),
        // A bowed model is refined by SPSA whatever the mode says.
        mode: Mode::Hybrid,
        iterations: 2,
        from: Some(string),
        templates_dir: bank_dir(),
        live: None,
        resume: false,
        loss_seconds: 0.5,
        excite: Some(ExciteShape::Bow),
    };
    let run = train(&opts, &mut Quiet, &AtomicBool::new(false)).unwrap();

    // The file is bowed and stores the fitted force and velocity.
    let inst = Arc::new(Instrument::load(&out).unwrap());
    let e = inst.file.excitation;
    assert_eq!(e.shape, ExciteShape::Bow);
    let force = e.bow_force.expect("a bowed model stores its bow force");
    let vel = e
        .bow_velocity
        .expect("a bowed model stores its bow velocity");
    assert!((0.0..=1.0).contains(&force) && (0.0..=1.0).contains(&vel));
    let req = inst.note_request(50.0, 0.8);
    assert_eq!(req.bow_force, force as f32);
    assert_eq!(req.bow_velocity, vel as f32);

    // The fitted bow beats the server's default bow on the training loss.
    let problem = Problem {
        targets: vec![NoteTarget::new(target::load(&wav).unwrap())],
        loss_seconds: 0.5,
    };
    let cfg = LossConfig::default();
    let fitted = problem.loss(&run.model, &cfg).unwrap();
    let mut default_bow = run.model.clone();
    default_bow.file.excitation.bow_force = None;
    default_bow.file.excitation.bow_velocity = None;
    let default = problem.loss(&default_bow, &cfg).unwrap();
    assert!(
        fitted < default,
        "fitted bow (force {force:.3}, velocity {vel:.3}) loss {fitted:.4} \
         not below the default bow's {default:.4} (true force {TRUE_FORCE})"
    );

    // It plays bowed: the note holds its level to the end (a struck string decays).
    let y = fit::render_mono(&inst, 50.0, 1.0).unwrap();
    let held = rms_db(&y[14_400..24_000]) - rms_db(&y[38_400..48_000]);
    assert!(
        held.abs() < 3.0,
        "level 0.3-0.5 s vs 0.8-1.0 s differs by {held:.1} dB"
    );
}
