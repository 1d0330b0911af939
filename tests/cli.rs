//! The command line: render is deterministic and writes 48 kHz stereo WAV;
//! bad input exits 2 with a one-line reason; bench prints its contract line.

use std::path::{Path, PathBuf};
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_neirosynth"))
}

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/good_small.json")
}

fn tmp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("neirosynth-cli-{}-{name}", std::process::id()))
}

/// The same render command twice gives byte-identical 48 kHz stereo float WAVs.
#[test]
fn render_is_deterministic_wav() {
    let (a, b) = (tmp("a.wav"), tmp("b.wav"));
    for out in [&a, &b] {
        let st = bin()
            .args(["render", "--instrument"])
            .arg(fixture())
            .args([
                "--note",
                "62.5",
                "--velocity",
                "0.9",
                "--duration",
                "0.5",
                "--out",
            ])
            .arg(out)
            .status()
            .unwrap();
        assert!(st.success());
    }
    let (da, db) = (std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    assert_eq!(da, db);
    let r = hound::WavReader::open(&a).unwrap();
    let spec = r.spec();
    assert_eq!(
        (spec.channels, spec.sample_rate, spec.bits_per_sample),
        (2, 48000, 32)
    );
    assert_eq!(r.duration(), 24000);
    let samples: Vec<f32> = hound::WavReader::open(&a)
        .unwrap()
        .samples::<f32>()
        .map(|s| s.unwrap())
        .collect();
    assert!(samples.iter().all(|s| s.is_finite()));
    assert!(samples.iter().any(|s| s.abs() > 0.01));
    let _ = std::fs::remove_file(a);
    let _ = std::fs::remove_file(b);
}

/// Unknown instruments, corrupt files and out-of-range arguments exit 2 with a reason.
#[test]
fn bad_input_exits_2_with_reason() {
    let out = tmp("x.wav");
    let bad_file =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bad/stiffness_nan.json");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                "--instrument".into(),
                "no_such_instrument".into(),
                "--note".into(),
                "60".into(),
            ],
            "unknown instrument",
        ),
        (
            vec![
                "--instrument".into(),
                bad_file.display().to_string(),
                "--note".into(),
                "60".into(),
            ],
            "NaN",
        ),
        (
            vec![
                "--instrument".into(),
                fixture().display().to_string(),
                "--note".into(),
                "60".into(),
                "--velocity".into(),
                "3".into(),
            ],
            "velocity",
        ),
        (
            vec![
                "--instrument".into(),
                fixture().display().to_string(),
                "--note".into(),
                "NaN".into(),
            ],
            "note",
        ),
    ];
    for (args, words) in cases {
        let o = bin()
            .arg("render")
            .args(&args)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(words), "{args:?}: `{err}` lacks `{words}`");
        assert_eq!(err.trim().lines().count(), 1, "one-line reason: {err}");
    }
    assert!(!out.exists());
}

/// `bench` ends with `voices_realtime=<float> mesh=<N> engine=cpu`.
#[test]
fn bench_prints_contract_line() {
    let o = bin()
        .args([
            "bench",
            "--mesh",
            "16",
            "--voices",
            "2",
            "--seconds",
            "0.05",
        ])
        .output()
        .unwrap();
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    let last = text.trim().lines().last().unwrap();
    let rest = last.strip_prefix("voices_realtime=").expect(last);
    let (num, tail) = rest.split_once(' ').unwrap();
    assert!(num.parse::<f64>().unwrap() > 0.0);
    assert_eq!(tail, "mesh=16 engine=cpu");
}

/// `inspect` reports the certificate and modes, and writes a PNG.
#[test]
fn inspect_reports_and_draws() {
    let png = tmp("maps.png");
    let o = bin()
        .arg("inspect")
        .arg(fixture())
        .arg("--png")
        .arg(&png)
        .output()
        .unwrap();
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("certificate"));
    assert!(text.contains("first modes"));
    assert!(std::fs::read(&png).unwrap().starts_with(b"\x89PNG"));
    let _ = std::fs::remove_file(png);
}

/// `render --normalize -1` puts the stereo peak at −1 dBFS (within 0.01 dB),
/// whatever the instrument's own level; a silent render is refused.
#[test]
fn render_normalize_sets_the_peak() {
    let (plain, norm) = (tmp("plain.wav"), tmp("norm.wav"));
    let render = |out: &Path, extra: &[&str]| {
        bin()
            .args(["render", "--instrument"])
            .arg(fixture())
            .args(["--note", "60", "--duration", "0.5"])
            .args(extra)
            .arg("--out")
            .arg(out)
            .output()
            .unwrap()
    };
    let peak = |p: &Path| {
        hound::WavReader::open(p)
            .unwrap()
            .samples::<f32>()
            .map(|s| s.unwrap().abs())
            .fold(0.0f32, f32::max) as f64
    };
    assert!(render(&plain, &[]).status.success());
    let o = render(&norm, &["--normalize", "-1"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (p0, p1) = (peak(&plain), peak(&norm));
    assert!(
        (20.0 * p0.log10() + 1.0).abs() > 0.1,
        "the plain render already peaks at {p0}"
    );
    let db = 20.0 * p1.log10();
    assert!((db + 1.0).abs() < 0.01, "normalised peak {db:.4} dBFS");
    // A silent render (velocity 0) cannot be normalised.
    let silent = tmp("silent.wav");
    let o = render(&silent, &["--velocity", "0", "--normalize", "-1"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("silent"), "{err}");
    assert!(!silent.exists());
    for p in [plain, norm] {
        let _ = std::fs::remove_file(p);
    }
}

/// `render --gain-db -6` scales the render by −6 dB exactly (float WAV);
/// it cannot be combined with `--normalize`, and a NaN is refused.
#[test]
fn render_gain_db_scales() {
    let (plain, quiet) = (tmp("gplain.wav"), tmp("gquiet.wav"));
    let render = |out: &Path, extra: &[&str]| {
        bin()
            .args(["render", "--instrument"])
            .arg(fixture())
            .args(["--note", "60", "--duration", "0.3"])
            .args(extra)
            .arg("--out")
            .arg(out)
            .output()
            .unwrap()
    };
    let samples = |p: &Path| -> Vec<f32> {
        hound::WavReader::open(p)
            .unwrap()
            .samples::<f32>()
            .map(|s| s.unwrap())
            .collect()
    };
    assert!(render(&plain, &[]).status.success());
    let o = render(&quiet, &["--gain-db", "-6"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let g = 10f64.powf(-6.0 / 20.0);
    let (a, b) = (samples(&plain), samples(&quiet));
    assert_eq!(a.len(), b.len());
    assert!(a.iter().any(|v| v.abs() > 1e-3));
    for (x, y) in a.iter().zip(&b) {
        assert!((*x as f64 * g - *y as f64).abs() <= 1e-6 * x.abs() as f64 + 1e-12);
    }
    for bad_args in [
        &["--gain-db", "-6", "--normalize", "-1"][..],
        &["--gain-db", "NaN"],
    ] {
        let o = render(&tmp("gbad.wav"), bad_args);
        assert_eq!(o.status.code(), Some(2), "{bad_args:?}");
    }
    for p in [plain, quiet] {
        let _ = std::fs::remove_file(p);
    }
}

/// The flags a subcommand's `--help` lists (`  -x, --flag <VALUE>` or
/// `      --flag`), without `--help` itself.
fn help_flags(subcommand: &str) -> Vec<String> {
    let out = bin().args([subcommand, "--help"]).output().unwrap();
    assert!(out.status.success(), "{subcommand} --help failed");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.trim_start().split(", ").last()?.strip_prefix("--"))
        .filter_map(|l| l.split([' ', '<']).next())
        .filter(|w| !w.is_empty() && *w != "help")
        .map(|w| format!("--{w}"))
        .collect()
}

/// `docs/cli.md` documents every flag of every subcommand, and every flag
/// of the contract's synopsis (quoted there from `shared/spec/cli.md`) is
/// still taken by the binary: an undocumented extension or a broken
/// contract fails here.
#[test]
fn every_flag_is_documented_and_the_contract_holds() {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/cli.md")).unwrap();
    let subcommands = ["serve", "config", "render", "train", "bench", "inspect"];
    // A subcommand's section: from `## SUB` to the next `## `.
    let section = |sub: &str| -> String {
        doc.split(&format!("\n## {sub}\n"))
            .nth(1)
            .map(|s| s.split("\n## ").next().unwrap_or(s).to_string())
            .unwrap_or_default()
    };
    let mut missing = Vec::new();
    for sub in subcommands {
        let flags = help_flags(sub);
        assert!(flags.len() >= 2, "{sub}: flags found in --help: {flags:?}");
        // `config` takes `serve`'s flags; `--log-level` is every command's.
        let mut text = section(sub);
        if sub == "config" {
            text += &section("serve");
        }
        for flag in flags {
            let documented = text.contains(&format!("`{flag}"))
                || text.contains(&format!("[{flag}"))
                || flag == "--log-level" && doc.contains("`--log-level FILTER`");
            if !documented {
                missing.push(format!("{sub} {flag}"));
            }
        }
    }
    assert!(missing.is_empty(), "not in docs/cli.md: {missing:?}");

    // The synopsis: each `neirosynth SUB` line and its continuation lines.
    let synopsis = doc
        .split("## The contract (v1)")
        .nth(1)
        .and_then(|s| s.split("```").nth(1))
        .expect("docs/cli.md quotes the contract's synopsis");
    let mut checked = 0;
    let mut current: Option<(&str, Vec<String>)> = None;
    for line in synopsis.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.first() == Some(&"neirosynth") {
            current = Some((words[1], help_flags(words[1])));
        }
        let Some((sub, flags)) = &current else {
            continue;
        };
        for word in words {
            let word = word.trim_start_matches('[');
            if let Some(flag) = word.strip_prefix("--") {
                let flag = format!("--{}", flag.trim_end_matches(']'));
                assert!(
                    flags.contains(&flag),
                    "the contract's `{sub} {flag}` is not in `{sub} --help`: {flags:?}"
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 30, "only {checked} contract flags read");
}
