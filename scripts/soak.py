#!/usr/bin/env python3
"""Soak run: hours of scripted playing against a running server, compressed
in time (events far denser than a show: a note every few tens of ms, a
morph every 2 s, a reload every 5 s, a burst of bad packets every second, a
client arriving and leaving every 3 s), checking what an installation
needs:

- zero underruns (from /status, start to end); the server's own figures
  say whose they were: its block render times (p99, max, blocks slower
  than real time) and its once-a-second underrun lines by cause (the
  engine too slow, or the machine not running the engine thread), and
  --latency-probe measures the machine's worst thread wake-up beside it,
- flat memory: the server's resident set (VmRSS) once the run has settled
  (--settle, a tenth of it by default) and at the end, growth at most
  --max-rss-growth-mib,
- every voice ended: each /voice/started has its /voice/end (or, where the
  reply was lost, the server answers "unknown voice" for it and the kernel
  counted at least as many datagrams dropped at the soak's socket), and /status
  counts no active voice once playing stops,
- still answering and a clean exit (/quit → 0).

    python3 scripts/soak.py --bin target/release/neirosynth --seconds 3600 --voices 16

--server-args passes more `serve` flags (an installation's --block);
--without morphs,reloads,bad,clients leaves events out (to find what a
problem follows).

Plays about half of --voices at once (set --voices to the machine's voice
capacity for the instrument, from `neirosynth bench` or
scripts/bench_server.py). Instruments: --instruments DIR (default: a
temporary folder holding two copies of the 16x16 test fixture, `small` and
`small2`, so morphs and reloads have partners), or the shipped bank with
--instruments instruments (morph partners are found by mesh size).

The OSC messages are built by python-osc (a client library our users use),
not by our own encoder. Prints one progress line a minute and a summary;
--report FILE writes the summary as JSON. Exit status 0 when every check
passes, 1 otherwise.
"""
import argparse
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def build(addr, *args):
    b = OscMessageBuilder(address=addr)
    for a in args:
        b.add_arg(a)
    return b.build().dgram


def rss_kib(pid, field="VmRSS"):
    """A resident-set figure of /proc/PID/status, KiB: VmRSS (all), RssAnon
    (private: heap, stacks; where a leak shows) or RssFile (the mapped
    binary's pages)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


class Client:
    """One UDP socket; replies come back to it."""

    def __init__(self, server):
        self.server = server
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        # A large receive buffer: a client starved of CPU for a moment must
        # not lose /voice/end replies (the kernel drops what does not fit).
        # SO_RCVBUF is capped at net.core.rmem_max (about 208 KiB by default);
        # root may go past it with SO_RCVBUFFORCE (33 on Linux).
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, 33, 1 << 22)
        except OSError:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setblocking(False)

    def udp_drops(self):
        """Datagrams the kernel dropped for this socket (its receive buffer
        was full): the `drops` column of /proc/net/udp, or None."""
        port = self.sock.getsockname()[1]
        try:
            with open("/proc/net/udp") as f:
                next(f)
                for line in f:
                    cols = line.split()
                    if int(cols[1].split(":")[1], 16) == port:
                        return int(cols[-1])
        except OSError:
            pass
        return None

    def send(self, addr, *args):
        self.sock.sendto(build(addr, *args), self.server)

    def raw(self, data):
        self.sock.sendto(data, self.server)

    def drain(self):
        """Every reply waiting now, parsed."""
        out = []
        while True:
            try:
                data = self.sock.recv(65536)
            except (BlockingIOError, ConnectionRefusedError):
                return out
            try:
                m = OscMessage(data)
                out.append((m.address, list(m.params)))
            except Exception:  # a bundle or something odd: not ours to judge here
                pass

    def ask(self, addr, args, want, timeout=5.0, keep=None):
        """Sends and waits for a reply at `want`; other replies go to `keep`."""
        self.send(addr, *args)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            found = None
            # The whole batch is looked at: what came after the reply in it
            # (a /voice/end, say) is kept, not lost.
            for a, p in self.drain():
                if a == want and found is None:
                    found = p
                elif keep is not None:
                    keep.append((a, p))
            if found is not None:
                return found
            time.sleep(0.002)
        raise TimeoutError(f"no {want} after {addr}")

    def close(self):
        self.sock.close()


def engine_block_times(log_path):
    """The engine's block render times from the server's stop line."""
    with open(log_path, errors="replace") as f:
        for line in f:
            m = re.search(r"p50 < ([\d.]+), p99 < ([\d.]+), max ([\d.]+); (\d+) blocks slower", line)
            if m:
                return dict(p50=float(m[1]), p99=float(m[2]), max=float(m[3]), slow=int(m[4]))
    return {}


def underrun_reports(log_path):
    """The server's once-a-second underrun lines (what the engine saw), by cause."""
    causes = {"engine too slow": "the engine was too slow",
              "engine thread not run": "did not run the engine thread",
              "audio thread late": "audio device's thread ran late"}
    counts = {k: 0 for k in causes}
    lines = []
    with open(log_path, errors="replace") as f:
        for line in f:
            if "underrun(s) in the last second" not in line:
                continue
            lines.append(line.split("WARN", 1)[-1].strip(" \x1b[0m\n"))
            for k, text in causes.items():
                if text in line:
                    counts[k] += 1
    return counts, lines[:10]


def probe_max_latency_ms(output):
    """cyclictest's worst wake-up latency (its "# Max Latencies" line), ms."""
    for line in output.splitlines():
        if line.startswith("# Max Latencies:"):
            return max(int(v) for v in line.split(":")[1].split()) / 1000.0
    return None


def bad_packets(rng):
    """Malformed or refused input of every kind a client might send."""
    return [
        bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 40))),
        b"/voice/new\0\0,iz\0\0\0\0\0",  # truncated, unknown type tag
        build("/no/such/address", 1),
        build("/voice/set", 999999, "pitch", 60.0),  # unknown voice
        build("/note/on", "no_such_instrument", 60.0, 0.5),
        build("/voice/set", 1, "gain", float("nan")),
        build("/note/on", "small", float("inf"), 0.5),
        build("/morph", 1, "no_such_instrument", 0.5),
    ]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "neirosynth"))
    ap.add_argument("--seconds", type=float, default=600.0)
    ap.add_argument("--voices", type=int, default=16, help="the server's --voices; about half play at once")
    ap.add_argument("--instruments", default=None)
    ap.add_argument("--warmup", type=float, default=3.0)
    ap.add_argument("--settle", type=float, default=0.1,
                    help="share of the run played before the resident set's reference is taken "
                         "(first touches of every instrument's maps and buffers, the allocator's "
                         "arenas, the client table filling are start-up, not growth)")
    ap.add_argument("--max-rss-growth-mib", type=float, default=4.0)
    ap.add_argument("--max-underruns", type=int, default=0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--report", default=None)
    ap.add_argument("--server-args", default="", help="more `serve` flags, e.g. \"--threads 1\"")
    ap.add_argument("--without", default="", help="comma-separated events to leave out: morphs,reloads,bad,clients")
    ap.add_argument("--server-log", default=None,
                    help="keep the server's log (stderr) here (default: a temporary file, removed)")
    ap.add_argument("--latency-probe", action="store_true",
                    help="run cyclictest (rt-tests) beside the server at its priority and period, and report "
                         "the machine's worst thread wake-up latency: underruns with no slow engine block "
                         "and a wake-up later than the ring's slack are the machine's, not the engine's")
    ap.add_argument("--progress", type=float, default=60.0, help="seconds between progress lines")
    args = ap.parse_args()
    rng = random.Random(args.seed)

    tmp = None
    inst_dir = args.instruments
    if inst_dir is None:
        tmp = tempfile.mkdtemp(prefix="neirosynth-soak-")
        fixture = os.path.join(ROOT, "tests", "fixtures", "good_small.json")
        shutil.copy(fixture, os.path.join(tmp, "small.json"))
        with open(fixture) as f:
            text = f.read().replace('"small"', '"small2"').replace('"stiffness": 1.0', '"stiffness": 0.6')
        with open(os.path.join(tmp, "small2.json"), "w") as f:
            f.write(text)
        inst_dir = tmp

    log_path = args.server_log or os.path.join(tempfile.gettempdir(), f"neirosynth-soak-{os.getpid()}.log")
    log_file = open(log_path, "w")
    server = subprocess.Popen(
        [args.bin, "serve", "--port", "0", "--audio", "null", "--midi", "none",
         "--voices", str(args.voices), "--instruments", inst_dir, "--log-level", "info"] + args.server_args.split(),
        stdout=subprocess.PIPE, text=True, stderr=log_file)
    line = server.stdout.readline().strip()
    if not line.startswith("listening udp "):
        print(f"unexpected first line: {line!r}", file=sys.stderr)
        return 1
    host, port = line[len("listening udp "):].rsplit(":", 1)
    addr = (host, int(port))
    main_client = Client(addr)
    events = []
    main_client.ask("/notify", [1], "/done", keep=events)

    names = main_client.ask("/inst/list", [], "/inst/list.reply")[1:]
    meshes = {}
    for n in names:
        info = main_client.ask("/inst/info", [n], "/inst/info.reply")
        meshes[n] = (info[2], info[3], info[4])  # width, height, reference note
    partners = {n: [m for m in names if m != n and meshes[m][:2] == meshes[n][:2]] for n in names}
    playable = names

    status0 = main_client.ask("/status", [], "/status.reply")
    block, latency_ms = status0[10], status0[11]
    probe = None
    if args.latency_probe:
        if shutil.which("cyclictest") is None:
            print("--latency-probe needs cyclictest (apt-get install rt-tests)", file=sys.stderr)
            return 1
        period_us = int(1e6 * max(16, block // 4) / status0[9])
        probe = subprocess.Popen(
            ["cyclictest", "-m", "-q", "-p", "70", "-i", str(period_us),
             "-D", f"{int(args.seconds + args.warmup + 1)}s", "-h", "100000"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    time.sleep(args.warmup)
    rss_idle = rss_kib(server.pid)
    rss_start = None  # taken once the run has settled
    anon_start = rss_kib(server.pid, "RssAnon")
    rss_max = rss_idle

    started, ended = set(), set()
    releases = []  # (time, id)
    counts = dict(notes=0, morphs=0, reloads=0, bad_packets=0, clients=0, status_polls=0)
    next_id = 1
    target = max(1, args.voices // 2)
    t0 = time.monotonic()
    next_morph = next_reload = next_bad = next_client = next_status = next_progress = t0
    visitors = []  # (leave_time, client)

    history = {}  # id -> what the soak did to it and heard about it (for a voice that never ends)
    our_ids = set()  # the ids the main client asked for with /voice/new
    fails = {}  # "/address: reason" -> count, for /fail replies to the main client

    def log_event(vid, what):
        history.setdefault(vid, []).append((round(time.monotonic() - t0, 3), what))

    def handle(evs):
        for a, p in evs:
            if a == "/voice/started":
                started.add(p[0])
                log_event(p[0], "started")
            elif a == "/voice/end":
                ended.add(p[0])
                log_event(p[0], "end")
            elif a.startswith("/voice/"):
                log_event(p[0] if p and isinstance(p[0], int) else None, a)
            elif a == "/fail":
                key = ": ".join(str(x) for x in p[:2])
                fails[key] = fails.get(key, 0) + 1

    while time.monotonic() - t0 < args.seconds:
        now = time.monotonic()
        handle(events)
        events.clear()
        handle(main_client.drain())
        # Notes: keep about half the voices sounding, each held 0.2-2 s.
        sounding = len(started - ended)
        if sounding < target:
            inst = rng.choice(playable)
            note = meshes[inst][2] + rng.uniform(-7, 7)
            main_client.send("/voice/new", next_id, inst, float(note), rng.uniform(0.2, 1.0),
                             "pan", rng.uniform(-1, 1))
            log_event(next_id, f"new {inst}")
            our_ids.add(next_id)
            releases.append((now + rng.uniform(0.2, 2.0), next_id))
            next_id += 1
            counts["notes"] += 1
        due = [r for r in releases if r[0] <= now]
        for r in due:
            main_client.send("/voice/release", r[1])
            log_event(r[1], "release")
            releases.remove(r)
        if now >= next_morph and "morphs" not in args.without:
            live = sorted(started - ended)
            if live:
                v = rng.choice(live)
                for inst in rng.sample(playable, len(playable)):
                    if partners[inst]:
                        partner = rng.choice(partners[inst])
                        main_client.send("/morph", v, partner, rng.uniform(0, 1), 0.5)
                        log_event(v, f"morph {partner}")
                        counts["morphs"] += 1
                        break
            next_morph = now + 2.0
        if now >= next_reload and "reloads" not in args.without:
            reloaded = rng.choice(playable)
            main_client.send("/inst/reload", reloaded)
            for v in started - ended:
                log_event(v, f"reload {reloaded}")
            counts["reloads"] += 1
            next_reload = now + 5.0
        if now >= next_bad and "bad" not in args.without:
            for p in bad_packets(rng):
                main_client.raw(p)
                counts["bad_packets"] += 1
            next_bad = now + 1.0
        if now >= next_client and "clients" not in args.without:
            c = Client(addr)
            c.send("/notify", 1)
            c.send("/note/on", rng.choice(playable), 60.0, 0.3)
            c.send("/status")
            visitors.append((now + rng.uniform(0.5, 6.0), c))
            counts["clients"] += 1
            next_client = now + 3.0
        for leave, c in [v for v in visitors if v[0] <= now]:
            c.close()  # gone without /notify 0: the server must not mind
            visitors.remove((leave, c))
        if now >= next_status:
            st = main_client.ask("/status", [], "/status.reply", keep=events)
            counts["status_polls"] += 1
            rss_max = max(rss_max, rss_kib(server.pid))
            if rss_start is None and now - t0 >= args.settle * args.seconds:
                rss_start = rss_kib(server.pid)
                anon_start = rss_kib(server.pid, "RssAnon")
            next_status = now + 1.0
            if now >= next_progress:
                print(f"{now - t0:7.0f} s: {counts['notes']} notes, {len(started - ended)} sounding "
                      f"(server: {st[0]} active, load {st[4]:.2f}), underruns {st[5] - status0[5]}, "
                      f"RSS {rss_kib(server.pid) / 1024:.1f} MiB", flush=True)
                next_progress = now + args.progress
        time.sleep(0.01)

    # Stop playing: release everything; every voice must end by itself
    # (the release limits: at most 30 s).
    for _, v in releases:
        main_client.send("/voice/release", v)
    for _, c in visitors:
        c.close()
    end_wait = time.monotonic() + 40.0
    st = None
    while time.monotonic() < end_wait:
        handle(events)
        events.clear()
        handle(main_client.drain())
        st = main_client.ask("/status", [], "/status.reply", keep=events)
        if st[0] == 0 and started <= ended:
            break
        # Visitors' /note/on voices are not ours to release: release by note.
        for inst in playable:
            main_client.send("/note/off", inst, 60.0)
        time.sleep(0.5)
    # Voices whose /voice/end never arrived: ask the server. A voice it
    # no longer knows ("unknown voice") has ended; only its reply was lost.
    ended_unheard, still_known = [], []
    handle(events)
    events.clear()
    handle(main_client.drain())
    for v in sorted(started - ended):
        main_client.send("/voice/set", v, "gain", 1.0)
        unknown, until = False, time.monotonic() + 1.0
        while not unknown and time.monotonic() < until:
            batch = main_client.drain()
            handle(batch)
            unknown = any(a == "/fail" and f"unknown voice {v}" in " ".join(map(str, p))
                          for a, p in batch)
            time.sleep(0.01)
        if v not in ended:
            (ended_unheard if unknown else still_known).append(v)
    rss_end = rss_kib(server.pid)
    # Replies the kernel dropped because the soak did not read them in time:
    # a voice whose /voice/end is among them looks as if it never ended.
    client_drops = main_client.udp_drops()
    anon_end = rss_kib(server.pid, "RssAnon")
    quit_reply = main_client.ask("/quit", [], "/done")
    try:
        code = server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
        code = None
    if tmp:
        shutil.rmtree(tmp, ignore_errors=True)
    log_file.close()
    engine = engine_block_times(log_path)
    causes, reports = underrun_reports(log_path)
    if not args.server_log:
        os.remove(log_path)
    wakeup = None
    if probe is not None:
        probe.terminate()
        wakeup = probe_max_latency_ms(probe.communicate()[0])

    underruns = st[5] - status0[5]
    if rss_start is None:
        rss_start = rss_idle
    growth_mib = (rss_end - rss_start) / 1024.0
    summary = dict(
        seconds=args.seconds, voices=args.voices, **counts,
        voices_started=len(started), voices_ended=len(ended & started),
        active_at_end=st[0], underruns=underruns, late=st[6], dropped=st[7],
        rss_idle_mib=rss_idle / 1024.0, rss_start_mib=rss_start / 1024.0, rss_end_mib=rss_end / 1024.0,
        rss_max_mib=rss_max / 1024.0, rss_growth_mib=growth_mib,
        rss_anon_start_mib=anon_start / 1024.0, rss_anon_end_mib=anon_end / 1024.0,
        quit=quit_reply, exit_code=code, client_udp_drops=client_drops,
        block=block, output_latency_ms=latency_ms,
        # The engine's own figures (blocks of real time): an underrun with
        # no block slower than real time was the machine not running the
        # engine or audio thread in time, not the engine being slow.
        engine_block_p99=engine.get("p99"), engine_block_max=engine.get("max"),
        engine_slow_blocks=engine.get("slow"),
        worst_wakeup_ms=wakeup,
        underrun_causes=causes, underrun_reports=reports,
    )
    failures = []
    if underruns > args.max_underruns:
        failures.append(f"{underruns} underruns")
    if growth_mib > args.max_rss_growth_mib:
        failures.append(f"resident set grew {growth_mib:.1f} MiB")
    # Every voice ended: the server counts none active, and each voice whose
    # /voice/end the soak did not hear is one the server no longer knows,
    # with at least as many replies dropped by the kernel at the soak's
    # socket (its receive buffer overflowed) as such voices.
    lost_ok = not still_known and (client_drops is None or len(ended_unheard) <= client_drops)
    if st[0] != 0 or not lost_ok:
        failures.append(f"{st[0]} voices still active, {len(started - ended)} never ended "
                        f"(ids {sorted(started - ended)[:10]}; the server still knows "
                        f"{still_known[:10]}; {client_drops} replies dropped at the soak's socket)")
    if counts["notes"] == 0 or len(started) == 0:
        failures.append("nothing played")
    if code != 0:
        failures.append(f"exit code {code}")
    summary["failures"] = failures
    summary["never_ended"] = {str(v): history.get(v, [])[-6:] for v in sorted(started - ended)[:5]}
    summary["ended_unheard"] = ended_unheard
    # Our /voice/new that never got /voice/started, with what happened to them,
    # and the /fail replies the main client got (bad packets are the
    # visitors', so these are the main client's own commands refused).
    never_started = sorted(our_ids - started)
    summary["never_started"] = len(never_started)
    summary["never_started_history"] = {str(v): history.get(v, []) for v in never_started[:5]}
    summary["fails"] = fails
    print(json.dumps(summary, indent=1))
    if args.report:
        with open(args.report, "w") as f:
            json.dump(summary, f, indent=1)
    print("soak: " + ("PASS" if not failures else "FAIL: " + "; ".join(failures)))
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
