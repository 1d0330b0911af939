#!/usr/bin/env python3
"""Benchmark the running server: the largest number of 64x64 voices it
sustains for a given time with no underrun, and its output latency.

Starts `neirosynth serve --audio null` (or --audio jack) with a benchmark
instrument (uniform 64x64 membrane ringing for minutes), starts N voices,
waits, reads /status (underruns, load, latency) and searches N.

    python3 scripts/bench_server.py [--seconds 30] [--min 4] [--max 32] [--audio null] [--engine cpu|gpu|auto]

Needs a release build (cargo build --release). Prints one line per trial and
a summary. Standard library only.
"""
import argparse, json, os, shutil, socket, struct, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "neirosynth")


def pad(b):
    return b + b"\0" * (4 - len(b) % 4)


def msg(addr, *args):
    tags, data = ",", b""
    for a in args:
        if isinstance(a, int):
            tags += "i"; data += struct.pack(">i", a)
        elif isinstance(a, float):
            tags += "f"; data += struct.pack(">f", a)
        else:
            tags += "s"; data += pad(a.encode())
    return pad(addr.encode()) + pad(tags.encode()) + data


def parse(d):
    addr = d[: d.index(b"\0")].decode()
    o = (len(addr) // 4 + 1) * 4
    tags = d[o : d.index(b"\0", o)].decode()[1:]
    o = (o + len(tags) + 1) // 4 * 4 + 4
    args = []
    for t in tags:
        if t == "i":
            args.append(struct.unpack(">i", d[o : o + 4])[0]); o += 4
        elif t == "f":
            args.append(struct.unpack(">f", d[o : o + 4])[0]); o += 4
        elif t == "s":
            e = d.index(b"\0", o); args.append(d[o:e].decode()); o = (e // 4 + 1) * 4
    return addr, args


LOG = subprocess.DEVNULL  # --log FILE: the servers' logs


def bench_instrument(folder):
    with open(os.path.join(ROOT, "tests", "fixtures", "good_small.json")) as f:
        inst = json.load(f)
    inst.update(name="bench64", description="uniform 64x64 membrane, long decay (benchmark)")
    inst["mesh"] = {"width": 64, "height": 64}
    inst["reference_note"] = 40.0
    inst["physics"] = {"sigma1": 0.2, "support_hz": 0.0}
    inst["maps"] = {"stiffness": 1.0, "sigma0": 0.05, "mask": 1}
    with open(os.path.join(folder, "bench64.json"), "w") as f:
        json.dump(inst, f)


def trial(voices, seconds, audio, block, engine):
    folder = tempfile.mkdtemp(prefix="neirosynth-bench-")
    bench_instrument(folder)
    proc = subprocess.Popen(
        [BIN, "serve", "--audio", audio, "--port", "0", "--midi", "none", "--voices", str(voices),
         "--block", str(block), "--engine", engine, "--instruments", folder],
        stdout=subprocess.PIPE, stderr=LOG, text=True)
    try:
        line = proc.stdout.readline().strip()
        host, port = line.rsplit(" ", 1)[1].rsplit(":", 1)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(5)
        srv = (host, int(port))

        def ask(m, want):
            s.sendto(m, srv)
            while True:
                a, args = parse(s.recvfrom(65536)[0])
                if a == want:
                    return args

        for v in range(voices):
            s.sendto(msg("/voice/new", v + 1, "bench64", 40.0 + (v % 5) * 0.5, 0.8, "x", 0.2 + 0.01 * v), srv)
        ask(msg("/sync", 1), "/synced")
        time.sleep(1.0)  # settle
        before = ask(msg("/status"), "/status.reply")
        time.sleep(seconds)
        after = ask(msg("/status"), "/status.reply")
        s.sendto(msg("/quit"), srv)
        proc.wait(timeout=10)
        return after[0], after[5] - before[5], after[4], after[11]
    finally:
        if proc.poll() is None:
            proc.kill()
        shutil.rmtree(folder, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--min", type=int, default=4)
    ap.add_argument("--max", type=int, default=32)
    ap.add_argument("--audio", default="null")
    ap.add_argument("--block", type=int, default=256)
    ap.add_argument("--engine", default="cpu", help="cpu, gpu or auto (serve --engine)")
    ap.add_argument("--log", help="append the servers' logs to this file")
    a = ap.parse_args()
    global LOG
    if a.log:
        LOG = open(a.log, "a")
    if not os.path.exists(BIN):
        sys.exit("build first: cargo build --release")
    lo, hi, best, latency = a.min, a.max, 0, None
    while lo <= hi:
        n = (lo + hi) // 2
        active, underruns, load, latency = trial(n, a.seconds, a.audio, a.block, a.engine)
        ok = underruns == 0 and active == n
        print(f"voices={n:3d} active={active:3d} underruns={underruns:4d} load={load:.2f} latency_ms={latency:.1f} {'ok' if ok else 'FAIL'}", flush=True)
        if ok:
            best, lo = n, n + 1
        else:
            hi = n - 1
    print(f"sustained_voices={best} mesh=64 seconds={a.seconds:g} block={a.block} audio={a.audio} engine={a.engine} output_latency_ms={latency:.1f}")


if __name__ == "__main__":
    main()
