//! `serve --advertise` found by an mDNS browser (mdns-sd's), inside a
//! private network namespace (`unshare -rn`) whose only interface is
//! loopback: the announcements never reach a real network.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::tools::{on_path, require};
use mdns_sd::{ServiceDaemon, ServiceEvent};

/// Runs [`in_a_private_network`] in a new user and network namespace with
/// loopback up and multicast routed to it.
#[test]
fn advertised_services_are_found_on_loopback() {
    if !require(
        on_path("unshare") && on_path("ip"),
        "unshare and ip",
        "apt-get install util-linux iproute2 (scripts/install-deps.sh)",
    ) {
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let script = "ip link set lo up && ip link set lo multicast on \
                  && ip route add 224.0.0.0/4 dev lo \
                  && exec \"$0\" --ignored --exact in_a_private_network --nocapture";
    let out = Command::new("unshare")
        .args(["-rn", "sh", "-c", script])
        .arg(&exe)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("1 passed"), "the inner test ran: {text}");
}

/// Waits up to 10 s for `service` to resolve with `port`.
fn resolves(daemon: &ServiceDaemon, service: &str, port: u16) -> bool {
    let events = daemon.browse(service).unwrap();
    let end = Instant::now() + Duration::from_secs(10);
    while let Some(left) = end.checked_duration_since(Instant::now()) {
        if let Ok(ServiceEvent::ServiceResolved(info)) = events.recv_timeout(left) {
            if info.get_port() == port && info.get_fullname().starts_with("neirosynth-") {
                return true;
            }
        }
    }
    false
}

#[test]
#[ignore = "run by advertised_services_are_found_on_loopback, in a private network namespace"]
fn in_a_private_network() {
    // This process's network namespace's interfaces (/sys/class/net would
    // show the host's: sysfs is not remounted).
    let interfaces: Vec<String> = std::fs::read_to_string("/proc/self/net/dev")
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(name, _)| name.trim().to_string())
        .collect();
    assert_eq!(
        interfaces,
        ["lo"],
        "refusing to multicast outside a private network namespace"
    );
    let dir = std::env::temp_dir().join(format!("neirosynth-mdns-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/good_small.json");
    std::fs::copy(good, dir.join("small.json")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_neirosynth"))
        .args([
            "serve",
            "--port",
            "0",
            "--oscquery-port",
            "0",
            "--advertise",
        ])
        .arg("--instruments")
        .arg(&dir)
        .args(["--audio", "null", "--midi", "none", "--voices", "2"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = |prefix: &str| -> SocketAddr {
        let mut l = String::new();
        out.read_line(&mut l).unwrap();
        l.trim().strip_prefix(prefix).unwrap().parse().unwrap()
    };
    let osc = line("listening udp ");
    let http = line("oscquery http ");
    let daemon = ServiceDaemon::new().unwrap();
    let found_http = resolves(&daemon, "_oscjson._tcp.local.", http.port());
    let found_osc = resolves(&daemon, "_osc._udp.local.", osc.port());
    let _ = daemon.shutdown();
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        found_http,
        "_oscjson._tcp with the HTTP port {}",
        http.port()
    );
    assert!(found_osc, "_osc._udp with the OSC port {}", osc.port());
}
