#!/usr/bin/env python3
"""Two servers kept in step by their clocks, on one machine (docs/clock.md).

Starts two `neirosynth serve --audio null` servers whose null back-ends run
at different simulated crystal errors (`--null-drift-ppm +D` and `-D`),
records both, sends the same timetagged bundles (a short note every
INTERVAL seconds) to both over UDP, then finds each note's onset in each
recording and prints, per note, how far each server played it from its
timetag and the onset difference between the two servers, next to what
an origin fixed at start-up would have given (the old clock).

The time of a recording's sample i is its first callback's system time
(the server logs it: "clock: following the output device ...") plus
i / (rate * (1 + drift)): the simulated card's own clock. Sample-accurate
onsets: both servers render the same note, so the onset is found on the
same waveform in both.

Usage: scripts/clock_two_servers.py [--bin target/debug/neirosynth]
       [--drift 1000] [--seconds 120] [--interval 2] [--out DIR]
Exit status 1 if a tracked note is more than --tolerance-ms off.
"""

import argparse
import array
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

NTP_UNIX = 2208988800
RATE = 48000


def pad(b):
    return b + b"\0" * (-len(b) % 4)


def osc_string(s):
    return pad(s.encode() + b"\0")


def message(addr, args):
    tags, data = ",", b""
    for a in args:
        if isinstance(a, str):
            tags += "s"
            data += osc_string(a)
        elif isinstance(a, float):
            tags += "f"
            data += struct.pack(">f", a)
        else:
            tags += "i"
            data += struct.pack(">i", a)
    return osc_string(addr) + osc_string(tags) + data


def bundle(unix_time, msgs):
    ntp = int((unix_time + NTP_UNIX) * 2**32)
    out = osc_string("#bundle") + struct.pack(">Q", ntp)
    for m in msgs:
        out += struct.pack(">i", len(m)) + m
    return out


def parse_args_of(packet):
    """The arguments of one OSC message (i, f, s only)."""
    end = packet.index(b"\0")
    pos = (end + 4) & ~3
    tend = packet.index(b"\0", pos)
    tags = packet[pos + 1 : tend].decode()
    pos = (tend + 4) & ~3
    args = []
    for t in tags:
        if t == "i":
            args.append(struct.unpack(">i", packet[pos : pos + 4])[0])
            pos += 4
        elif t == "f":
            args.append(struct.unpack(">f", packet[pos : pos + 4])[0])
            pos += 4
        elif t == "s":
            e = packet.index(b"\0", pos)
            args.append(packet[pos:e].decode())
            pos = (e + 4) & ~3
    return args


class Server:
    def __init__(self, binary, instruments, drift, out):
        self.drift = drift
        self.wav = os.path.join(out, f"server_{drift:+g}ppm.wav")
        self.log_path = os.path.join(out, f"server_{drift:+g}ppm.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [binary, "serve", "--audio", "null", "--port", "0", "--midi", "none",
             "--instruments", instruments,
             "--null-drift-ppm", str(drift), "--record", self.wav],
            stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = self.proc.stdout.readline()
        host, port = line.split()[-1].rsplit(":", 1)
        self.addr = (host, int(port))

    def first_stamp(self):
        """(device frame, unix seconds) of the first callback, from the log."""
        pat = re.compile(r"device frame (\d+) stamped at unix (\d+)\.(\d{9}) s")
        for _ in range(100):
            with open(self.log_path) as f:
                m = pat.search(f.read())
            if m:
                return int(m.group(1)), int(m.group(2)) + int(m.group(3)) * 1e-9
            time.sleep(0.05)
        sys.exit(f"no clock line in {self.log_path}")


def read_wav_left(path):
    with open(path, "rb") as f:
        data = f.read()
    pos = 12
    while pos < len(data):
        cid, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        if cid == b"data":
            a = array.array("f")
            a.frombytes(data[pos + 8 : pos + 8 + size - size % 8])
            return a[::2]
        pos += 8 + size + (size & 1)
    sys.exit(f"{path}: no data chunk")


def onset(samples, around):
    """First sample over a tenth of the peak within 150 ms of `around`."""
    lo, hi = max(0, around - RATE // 10), min(len(samples), around + RATE // 5)
    window = samples[lo:hi]
    peak = max((abs(v) for v in window), default=0.0)
    if peak <= 0.0:
        return None
    for i, v in enumerate(window):
        if abs(v) > 0.1 * peak:
            return lo + i
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--bin", default=os.path.join(root, "target/debug/neirosynth"))
    ap.add_argument("--drift", type=float, default=1000.0)
    ap.add_argument("--seconds", type=float, default=120.0)
    ap.add_argument("--interval", type=float, default=2.0)
    ap.add_argument("--tolerance-ms", type=float, default=1.0)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    out = a.out or tempfile.mkdtemp(prefix="clock_two_servers_")
    os.makedirs(out, exist_ok=True)
    inst = os.path.join(out, "instruments")
    os.makedirs(inst, exist_ok=True)
    shutil.copy(os.path.join(root, "tests/fixtures/good_small.json"),
                os.path.join(inst, "small.json"))

    servers = [Server(a.bin, inst, +a.drift, out), Server(a.bin, inst, -a.drift, out)]
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(2.0)
    first = time.time() + 2.0
    notes = [first + k * a.interval for k in range(int(a.seconds / a.interval))]
    for t in notes:
        while time.time() < t - 0.5:
            time.sleep(0.01)
        on = bundle(t, [message("/note/on", ["small", 60.0, 0.8])])
        off = bundle(t + 0.25, [message("/note/off", ["small", 60.0])])
        for s in servers:
            sock.sendto(on, s.addr)
            sock.sendto(off, s.addr)
    time.sleep(1.0)
    status = []
    for s in servers:
        sock.sendto(message("/status", []), s.addr)
        while True:
            packet, frm = sock.recvfrom(65536)
            if packet.startswith(b"/status.reply\0"):
                break
            print(f"(from {frm}: {packet[:40]!r})")
        status.append(parse_args_of(packet))
        sock.sendto(message("/quit", []), s.addr)
    for s in servers:
        s.proc.wait(timeout=20)

    rows = []
    for s, st in zip(servers, status):
        d0, t0 = s.first_stamp()
        rate = RATE * (1.0 + s.drift * 1e-6)
        x = read_wav_left(s.wav)
        errs = []
        for t in notes:
            i = onset(x, d0 + int(round((t - t0) * rate)))
            errs.append(None if i is None else t0 + (i - d0) / rate - t)
        rows.append(errs)
        print(f"server {s.drift:+g} ppm: /status clock_drift_ppm {st[-1]:+.2f}, "
              f"late bundles {st[6]}, underruns {st[5]}")
    print("note  t(s)   A-tt(ms)  B-tt(ms)  A-B(ms)  A-B fixed origin(ms)")
    worst = 0.0
    ab0 = 0.0
    if rows[0][0] is not None and rows[1][0] is not None:
        ab0 = (rows[0][0] - rows[1][0]) * 1e3
    for k, t in enumerate(notes):
        ea, eb = rows[0][k], rows[1][k]
        if ea is None or eb is None:
            print(f"{k:4d}  {t - notes[0]:5.0f}   (no onset)")
            worst = float("inf")
            continue
        # An origin fixed at the first note's mapping: the nominal rate.
        el = t - notes[0]
        fixed = [el * (1.0 / (1.0 + s.drift * 1e-6) - 1.0) for s in servers]
        ab = (ea - eb) * 1e3
        worst = max(worst, abs(ab))
        # The fixed origin agrees with the tracking at the first note, then
        # each server drifts with its card.
        fixed_ab = ab0 + (fixed[0] - fixed[1]) * 1e3
        print(f"{k:4d}  {el:5.0f}   {ea * 1e3:+8.3f}  {eb * 1e3:+8.3f}  {ab:+7.3f}  "
              f"{fixed_ab:+9.1f}")
    print(f"largest onset difference between the servers: {worst:.3f} ms (recordings in {out})")
    sys.exit(0 if worst <= a.tolerance_ms else 1)


if __name__ == "__main__":
    main()
