//! The shipped Pure Data patch (`patches/puredata/neirosynth.pd`) works
//! against the real server, with real Pd, headless (needs `pd`; under
//! `CI=true` a missing `pd` fails the test).
//!
//! `tests/fixtures/puredata/drive_neirosynth.pd` loads the shipped patch as
//! an abstraction, points it at the server (`ns.connect`), registers the
//! driver's own `[netreceive -u -b PORT]` with `/notify 1 PORT` (every number
//! a float, as Pd sends them), and plays through the shipped patch's receive
//! names: notes on and off, `/voice/new` with id 1000, `/excite`, `/pickup`,
//! `/morph`, `/voice/set morph`, `/master/gain`, `/voice/mod`,
//! `/preset/save`, `/voice/mod/clear`, `/preset/recall`, `/sync`, `/status`, a bad
//! `/voice/set` and `/voice/release`. Each step waits for the reply to the
//! one before, so the test proves that those replies reach the registered
//! port and that Pd's `oscparse` reads them: `/synced`, `/voice/started
//! 1000`, a `/status.reply` of twelve fields or more (the held voice counted),
//! the `/fail`, and `/voice/end 1000`. Finally `/notify 0` sends replies back
//! to the patch's `netsend` socket, where the shipped patch prints
//! `/status.reply` field by field.

mod common;

use std::net::UdpSocket;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use common::server::{int, Server};
use common::tools;
use rosc::OscType;

/// A UDP port free on loopback right now (for Pd's `netreceive`, which
/// cannot pick one itself: `listen 0` closes it).
fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The lines Pd's `[print NAME]` wrote, without the `NAME: ` prefix.
fn printed<'a>(out: &'a str, name: &str) -> Vec<&'a str> {
    let prefix = format!("{name}: ");
    out.lines()
        .filter_map(|l| l.strip_prefix(prefix.as_str()))
        .map(str::trim_end)
        .collect()
}

/// The fields of the first printed `status.reply` among `lines`.
fn status_fields<'a>(lines: &[&'a str]) -> Option<Vec<&'a str>> {
    lines
        .iter()
        .find_map(|l| l.strip_prefix("status.reply "))
        .map(|rest| rest.split_whitespace().collect())
}

fn num(field: &str) -> f64 {
    field
        .parse()
        .unwrap_or_else(|_| panic!("`{field}` is not a number"))
}

#[test]
fn pd_patch_drives_the_server_headless() {
    if !tools::require(
        tools::on_path("pd"),
        "pd (Pure Data)",
        "apt-get install puredata-core",
    ) {
        return;
    }
    let srv = Server::start_for_patches("pd", &["--voices", "16"]);
    // What the server reports, to compare with what Pd parsed.
    let ours = srv.client().status();
    let (rate, block) = match (&ours[9], &ours[10]) {
        (OscType::Float(r), OscType::Int(b)) => (*r as f64, *b as f64),
        other => panic!("status.reply fields 10 and 11: {other:?}"),
    };
    let instruments = int(&ours[2]) as f64;

    let reply_port = free_udp_port();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/puredata");
    let started = Instant::now();
    let run = Command::new("timeout")
        .args([
            "60", "pd", "-nogui", "-nosound", "-nomidi", "-noprefs", "-stderr",
        ])
        .arg("-open")
        .arg(dir.join("drive_neirosynth.pd"))
        .arg("-send")
        .arg(format!("pdtest.start {} {reply_port}", srv.addr.port()))
        .current_dir(&dir)
        .stdin(Stdio::null())
        .output()
        .expect("pd runs");
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    let ctx = format!(
        "pd exited {:?} after {:.1} s; its output:\n{out}",
        run.status.code(),
        started.elapsed().as_secs_f64()
    );

    // Shown with `--nocapture`.
    eprintln!("{ctx}");
    let done = printed(&out, "pdtest");
    assert_eq!(done, ["done"], "the driver did not finish: {ctx}");
    assert!(run.status.success(), "{ctx}");

    // Everything the driver waited for arrived at its registered port.
    let recv = printed(&out, "pdtest-recv");
    for want in [
        "synced 1",
        "voice started 1000",
        "synced 2",
        "done /preset/save demo",
        "done /preset/recall demo",
        "voice end 1000",
    ] {
        assert!(
            recv.contains(&want),
            "`{want}` did not reach the registered port: {ctx}"
        );
    }
    let st = status_fields(&recv)
        .unwrap_or_else(|| panic!("no status.reply at the registered port: {ctx}"));
    assert!(
        st.len() >= 12,
        "status.reply has {} fields: {ctx}",
        st.len()
    );
    assert!(
        num(st[0]) >= 1.0,
        "voice 1000 is held but not counted: {ctx}"
    );
    assert_eq!(num(st[1]), 16.0, "voice limit: {ctx}");
    assert_eq!(num(st[2]), instruments, "instruments loaded: {ctx}");
    assert_eq!(st[3], "cpu", "engine: {ctx}");
    assert_eq!(num(st[7]), 0.0, "dropped messages: {ctx}");
    assert_eq!(num(st[8]), 0.0, "clamped values: {ctx}");
    assert_eq!(num(st[9]), rate, "sample rate: {ctx}");
    assert_eq!(num(st[10]), block, "block size: {ctx}");

    // The one refused command is the deliberate one: the shipped patch's
    // own messages (floats for ids and numbers) were all accepted.
    let fails: Vec<_> = recv.iter().filter(|l| l.starts_with("fail ")).collect();
    assert_eq!(fails.len(), 1, "fails: {fails:?}: {ctx}");
    assert!(
        fails[0].starts_with("fail /voice/set ") && fails[0].contains("no_such_param"),
        "{ctx}"
    );

    // While registered, no reply went to the netsend socket (`/done
    // /notify` may go either way); after `/notify 0` the status did, and
    // the shipped patch printed it field by field.
    let shipped = printed(&out, "pdtest-shipped");
    let stray: Vec<_> = shipped
        .iter()
        .filter(|l| !l.starts_with("done /notify"))
        .collect();
    assert_eq!(
        stray.len(),
        1,
        "replies at the netsend socket: {stray:?}: {ctx}"
    );
    assert!(stray[0].starts_with("status.reply "), "{ctx}");
    // `/notify 1 PORT` was answered, here or there (the answer to `/notify
    // 0` may come after the status that ends the run, if it goes to PORT).
    assert!(
        recv.iter().chain(&shipped).any(|l| *l == "done /notify"),
        "no `/done /notify`: {ctx}"
    );
    let by_name = printed(&out, "neirosynth-status");
    assert!(by_name.contains(&"voice_limit 16"), "{ctx}");
    assert!(by_name.contains(&"engine cpu"), "{ctx}");
    assert!(printed(&out, "neirosynth-fail").is_empty(), "{ctx}");

    // The server is still serving, and voice 1000 is gone.
    let c = srv.client();
    c.expect_fail(
        "/voice/set",
        vec![
            OscType::Int(1000),
            OscType::String("gain".into()),
            OscType::Float(1.0),
        ],
        "",
    );
}
