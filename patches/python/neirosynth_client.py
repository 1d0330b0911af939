#!/usr/bin/env python3
"""neirosynth OSC client: a small library, a demo and a test client.

Requires python-osc (``pip install python-osc``).

One UDP socket is used for sending *and* receiving: the server answers to the
address and port a request came from (like scsynth), so replies come back to
this socket without any ``/notify`` port.  ``/notify 1`` (see ``notify()``) is
still needed to receive ``/voice/started`` and ``/voice/end``.

Synchronisation never uses sleeps: ``sync()`` sends ``/sync <id>`` and waits
for ``/synced <id>``, which the server sends once every command received before
it has been applied.  The demo sleeps only to pace its animation.

Library use::

    from neirosynth_client import NeirosynthClient
    with NeirosynthClient("127.0.0.1", 57130) as ns:
        print(ns.status())                  # dict with named fields
        ns.notify(True)
        vid = ns.voice_new(-1, "drum", 45, 0.9)   # server picks the id
        ns.excite(vid, 0.3, 0.6, 0.8)
        ns.pickup(vid, 0.2, 0.5, 0.8, 0.5)
        ns.morph(vid, "bell", 0.5, 2.0)
        ns.voice_release(vid, wait=True)    # waits for /voice/end

Command line::

    python3 neirosynth_client.py                     # demo, 127.0.0.1:57130
    python3 neirosynth_client.py --port 57130 --demo-seconds 5
    python3 neirosynth_client.py status              # print /status, exit
    python3 neirosynth_client.py send /note/on drum 48 0.8
    python3 neirosynth_client.py send /inst/list --expect /inst/list.reply

Exit status: 0 on success, 2 when the server does not answer /status in
time (``--timeout``, default 2 s), 1 on a /fail or another error.
"""

from __future__ import annotations

import argparse
import collections
import itertools
import math
import socket
import sys
import time
from typing import Any, Callable, Deque, Dict, Iterable, List, Optional, Sequence, Tuple, Union

try:
    from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
    from pythonosc.osc_message import OscMessage
    from pythonosc.osc_message_builder import OscMessageBuilder
    from pythonosc.osc_packet import OscPacket
except ImportError:  # pragma: no cover - message for the user
    sys.stderr.write("neirosynth_client needs python-osc: pip install python-osc\n")
    raise

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 57130          # neirosynth serve's default UDP port
DEFAULT_TIMEOUT = 2.0         # seconds

# /status.reply fields, in the order the server sends them (spec: osc.md).
STATUS_FIELDS = (
    "active_voices",       # i
    "voice_limit",         # i
    "instruments_loaded",  # i
    "engine",              # s: "cpu" or "gpu"
    "load",                # f: share of the real-time budget used, 0..1
    "underruns",           # i
    "late_bundles",        # i
    "dropped_messages",    # i
    "clamped_values",      # i
    "sample_rate",         # f
    "block_size",          # i
    "output_latency_ms",   # f
)

EXCITE_SHAPES = ("strike", "pluck", "noise")

Instrument = Union[str, int]   # a name ("drum") or an index in the bank (0)
Arg = Union[str, int, float, bool, bytes]


class NeirosynthError(RuntimeError):
    """The server answered /fail <address> <reason>."""

    def __init__(self, address: str, reason: str):
        super().__init__(f"{address}: {reason}")
        self.address = address
        self.reason = reason


class NeirosynthTimeout(TimeoutError):
    """No expected reply arrived in time."""


class Reply:
    """One received OSC message: ``address`` and ``args`` (a list)."""

    __slots__ = ("address", "args", "source")

    def __init__(self, address: str, args: List[Any], source: Tuple[str, int]):
        self.address = address
        self.args = args
        self.source = source

    def __repr__(self) -> str:
        return f"Reply({self.address!r}, {self.args!r})"


def _typed(builder: OscMessageBuilder, value: Arg) -> None:
    """Append one argument with an explicit OSC type."""
    if isinstance(value, bool):
        builder.add_arg(value)                       # T / F
    elif isinstance(value, int):
        if not -(2 ** 31) <= value < 2 ** 31:
            raise ValueError(f"integer {value} does not fit an OSC 'i'")
        builder.add_arg(value, OscMessageBuilder.ARG_TYPE_INT)
    elif isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            # the server would refuse it with /fail; catch it here
            raise ValueError("NaN/infinity is not a valid neirosynth argument")
        builder.add_arg(value, OscMessageBuilder.ARG_TYPE_FLOAT)
    elif isinstance(value, str):
        builder.add_arg(value, OscMessageBuilder.ARG_TYPE_STRING)
    elif isinstance(value, (bytes, bytearray)):
        builder.add_arg(bytes(value), OscMessageBuilder.ARG_TYPE_BLOB)
    elif isinstance(value, tuple) and len(value) == 4:
        builder.add_arg(value, OscMessageBuilder.ARG_TYPE_MIDI)   # 'm'
    else:
        raise TypeError(f"cannot send {value!r} as an OSC argument")


def build_message(address: str, *args: Arg) -> OscMessage:
    """Build an OSC message with int -> 'i', float -> 'f', str -> 's'."""
    builder = OscMessageBuilder(address=address)
    for value in args:
        _typed(builder, value)
    return builder.build()


def _fail_reason(reply: "Reply") -> str:
    return str(reply.args[1]) if len(reply.args) > 1 else ""


def _inst(inst: Instrument) -> Arg:
    """An instrument: a name as 's' or a bank index as 'i'."""
    if isinstance(inst, str):
        return inst
    return int(inst)


def _params(params: Optional[Dict[str, float]], kwargs: Dict[str, float]) -> List[Arg]:
    out: List[Arg] = []
    merged: Dict[str, float] = dict(params or {})
    merged.update(kwargs)
    for name, value in merged.items():
        out += [str(name), float(value)]
    return out


class NeirosynthClient:
    """Talks to ``neirosynth serve`` over one UDP socket.

    Every ``send`` goes out from the socket the replies come back to.  Replies
    that nobody waited for (notifications such as /voice/started, stray
    /fail messages) are kept in ``inbox`` (bounded), in arrival order.
    """

    def __init__(self, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
                 timeout: float = DEFAULT_TIMEOUT, local_port: int = 0,
                 verbose: bool = False, inbox_size: int = 4096):
        infos = socket.getaddrinfo(host, port, 0, socket.SOCK_DGRAM)
        # prefer IPv4 (the server binds 127.0.0.1 by default)
        infos.sort(key=lambda i: 0 if i[0] == socket.AF_INET else 1)
        family, _, _, _, addr = infos[0]
        self.server = addr
        self.timeout = timeout
        self.verbose = verbose
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        bind_host = "0.0.0.0" if family == socket.AF_INET else "::"
        self.sock.bind((bind_host, local_port))
        self.inbox: Deque[Reply] = collections.deque(maxlen=inbox_size)
        self._sync_ids = itertools.count(1)

    # ------------------------------------------------------------ plumbing

    @property
    def local_port(self) -> int:
        """The port replies come back to (the socket's own port)."""
        return self.sock.getsockname()[1]

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> "NeirosynthClient":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def send(self, address: str, *args: Arg) -> None:
        """Send one message; no reply is awaited."""
        msg = build_message(address, *args)
        if self.verbose:
            print(f"-> {address} {list(args)}", file=sys.stderr)
        self.sock.sendto(msg.dgram, self.server)

    def send_bundle(self, messages: Iterable[Tuple[Any, ...]],
                    at: Optional[float] = None) -> None:
        """Send ``[(address, *args), ...]`` as one bundle.

        ``at`` is a Unix time (``time.time()`` based) at which the server runs
        the bundle, sample-accurately; ``None`` means immediately.
        """
        builder = OscBundleBuilder(IMMEDIATELY if at is None else at)
        for address, *args in messages:
            builder.add_content(build_message(address, *args))
        self.sock.sendto(builder.build().dgram, self.server)

    def _receive(self, deadline: float) -> Optional[List[Reply]]:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        self.sock.settimeout(remaining)
        try:
            data, source = self.sock.recvfrom(65536)
        except socket.timeout:
            return None
        try:
            packet = OscPacket(data)
        except Exception as exc:  # not OSC: ignore it, but say so
            print(f"neirosynth_client: undecodable packet from {source}: {exc}",
                  file=sys.stderr)
            return []
        replies = [Reply(t.message.address, list(t.message.params), source)
                   for t in packet.messages]
        if self.verbose:
            for r in replies:
                print(f"<- {r.address} {r.args}", file=sys.stderr)
        return replies

    def wait_for(self, match: Callable[[Reply], bool], timeout: Optional[float] = None,
                 fail_for: Optional[str] = None) -> Reply:
        """Return the first reply (queued or new) for which ``match`` is true.

        A ``/fail <fail_for> ...`` that arrives first raises NeirosynthError.
        Other replies are kept in ``inbox``.
        """
        def is_fail(r: Reply) -> bool:
            return (fail_for is not None and r.address == "/fail"
                    and bool(r.args) and r.args[0] == fail_for)

        for r in list(self.inbox):
            if match(r):
                self.inbox.remove(r)
                return r
            if is_fail(r):
                self.inbox.remove(r)
                raise NeirosynthError(fail_for, _fail_reason(r))
        wait = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + wait
        while True:
            replies = self._receive(deadline)
            if replies is None:
                raise NeirosynthTimeout(f"no reply within {wait:g} s "
                                        f"from {self.server[0]}:{self.server[1]}")
            for i, r in enumerate(replies):
                if match(r):
                    self.inbox.extend(replies[i + 1:])
                    return r
                if is_fail(r):
                    self.inbox.extend(replies[i + 1:])
                    raise NeirosynthError(fail_for, _fail_reason(r))
                self.inbox.append(r)

    def request(self, address: str, *args: Arg, reply: str,
                timeout: Optional[float] = None,
                match: Optional[Callable[[Reply], bool]] = None) -> Reply:
        """Send, then wait for ``reply`` (or a /fail naming ``address``)."""
        self.send(address, *args)
        return self.wait_for(lambda r: r.address == reply and (match is None or match(r)),
                             timeout, fail_for=address)

    def take_fails(self) -> List[Reply]:
        """Remove and return the /fail messages waiting in ``inbox``."""
        fails = [r for r in self.inbox if r.address == "/fail"]
        for r in fails:
            self.inbox.remove(r)
        return fails

    def pending(self, address: Optional[str] = None) -> List[Reply]:
        """Read whatever has already arrived (no waiting) into ``inbox`` and
        return the queued replies (only those with ``address`` if given)."""
        while True:
            self.sock.setblocking(False)
            try:
                data, source = self.sock.recvfrom(65536)
            except (BlockingIOError, socket.timeout):
                break
            finally:
                self.sock.setblocking(True)
            try:
                for t in OscPacket(data).messages:
                    self.inbox.append(Reply(t.message.address, list(t.message.params), source))
            except Exception:
                pass
        return [r for r in self.inbox if address is None or r.address == address]

    # ------------------------------------------------------------ commands

    def status(self, timeout: Optional[float] = None) -> Dict[str, Any]:
        """/status -> dict of the /status.reply fields by name."""
        r = self.request("/status", reply="/status.reply", timeout=timeout)
        fields = dict(zip(STATUS_FIELDS, r.args))
        for extra, value in enumerate(r.args[len(STATUS_FIELDS):]):
            fields[f"extra_{extra}"] = value    # newer servers may add fields
        return fields

    def version(self) -> Tuple[str, str]:
        r = self.request("/version", reply="/version.reply")
        return str(r.args[0]), str(r.args[1])

    def sync(self, sync_id: Optional[int] = None, timeout: Optional[float] = None) -> int:
        """/sync id -> waits for /synced id: everything sent before is applied.

        /fail replies that arrive meanwhile are kept in ``inbox``
        (see ``take_fails`` and ``checked``).
        """
        if sync_id is None:
            sync_id = next(self._sync_ids) % (2 ** 24)
        self.request("/sync", int(sync_id), reply="/synced",
                     match=lambda r: bool(r.args) and int(r.args[0]) == sync_id,
                     timeout=timeout)
        return sync_id

    def checked(self, address: str, *args: Arg) -> None:
        """Send a command, then /sync, and raise if it answered /fail.

        (/fail replies already waiting in ``inbox`` are discarded first.)
        """
        self.take_fails()
        self.send(address, *args)
        self.sync()
        for f in self.take_fails():
            if f.args and f.args[0] == address:
                raise NeirosynthError(address, str(f.args[1]) if len(f.args) > 1 else "")

    def notify(self, on: bool = True, reply_port: Optional[int] = None,
               wait: Optional[bool] = None) -> None:
        """/notify 0|1 [port]: (un)register for /voice/started, /voice/end.

        With ``reply_port`` every reply goes to <this host>:reply_port from
        then on (for tools that receive elsewhere); this client then no
        longer hears replies itself, so it does not wait by default.
        """
        args: List[Arg] = [1 if on else 0]
        if reply_port is not None:
            args.append(int(reply_port))
        if wait is None:
            wait = reply_port is None or reply_port == self.local_port
        if wait:
            self.request("/notify", *args, reply="/done",
                         match=lambda r: bool(r.args) and r.args[0] == "/notify")
        else:
            self.send("/notify", *args)

    def quit(self, wait: bool = True) -> None:
        if wait:
            self.request("/quit", reply="/done",
                         match=lambda r: bool(r.args) and r.args[0] == "/quit")
        else:
            self.send("/quit")

    def inst_list(self) -> List[str]:
        r = self.request("/inst/list", reply="/inst/list.reply")
        count = int(r.args[0])
        return [str(n) for n in r.args[1:1 + count]]

    def inst_info(self, inst: Instrument) -> Dict[str, Any]:
        r = self.request("/inst/info", _inst(inst), reply="/inst/info.reply")
        name, index, width, height, ref = r.args[:5]
        return {"name": name, "index": int(index), "mesh_width": int(width),
                "mesh_height": int(height), "reference_note": float(ref),
                "params": [str(p) for p in r.args[5:]]}

    def inst_load(self, name: str, timeout: float = 30.0) -> None:
        """/inst/load name -> waits for /done /inst/load (loading takes time)."""
        self.request("/inst/load", str(name), reply="/done", timeout=timeout,
                     match=lambda r: r.args[:1] == ["/inst/load"])

    def inst_reload(self, name: str, timeout: float = 30.0) -> None:
        """/inst/reload name -> waits for /done /inst/reload (or /fail)."""
        self.request("/inst/reload", str(name), reply="/done", timeout=timeout,
                     match=lambda r: r.args[:1] == ["/inst/reload"])

    def note_on(self, inst: Instrument, note: float, velocity: float = 0.8) -> None:
        self.send("/note/on", _inst(inst), float(note), float(velocity))

    def note_off(self, inst: Instrument, note: float) -> None:
        self.send("/note/off", _inst(inst), float(note))

    def voice_new(self, voice_id: int, inst: Instrument, note: float,
                  velocity: float = 0.8, params: Optional[Dict[str, float]] = None,
                  wait: Optional[bool] = None, **kwargs: float) -> int:
        """/voice/new id inst note velocity [param value]... -> the voice id.

        ``voice_id=-1`` lets the server pick: that needs ``notify(True)``
        first, and waits for ``/voice/started <id>``.  With an explicit id
        (e.g. 1000+) nothing is awaited unless ``wait=True``.
        """
        args = [int(voice_id), _inst(inst), float(note), float(velocity)] + _params(params, kwargs)
        if wait is None:
            wait = voice_id < 0
        if not wait:
            self.send("/voice/new", *args)
            return int(voice_id)
        want = None if voice_id < 0 else int(voice_id)
        r = self.request("/voice/new", *args, reply="/voice/started",
                         match=lambda r: bool(r.args) and (want is None or int(r.args[0]) == want))
        return int(r.args[0])

    def voice_set(self, voice_id: int, params: Optional[Dict[str, float]] = None,
                  **kwargs: float) -> None:
        """/voice/set id param value ...: gain, pan, pitch, damping, morph..."""
        pairs = _params(params, kwargs)
        if not pairs:
            raise ValueError("voice_set needs at least one parameter")
        self.send("/voice/set", int(voice_id), *pairs)

    def voice_release(self, voice_id: int, wait: bool = False,
                      timeout: float = 30.0) -> None:
        """/voice/release id; with ``wait`` (needs notify) waits for /voice/end."""
        self.send("/voice/release", int(voice_id))
        if wait:
            self.wait_for(lambda r: r.address == "/voice/end" and bool(r.args)
                          and int(r.args[0]) == int(voice_id),
                          timeout=timeout, fail_for="/voice/release")

    def voice_free(self, voice_id: int) -> None:
        self.send("/voice/free", int(voice_id))

    def voice_free_all(self) -> None:
        self.send("/voice/free_all")

    def excite(self, voice_id: int, x: float, y: float, amplitude: float = 1.0,
               width: Optional[float] = None, shape: Optional[str] = None) -> None:
        """/excite id x y amplitude [width] [shape] (shape needs width)."""
        args: List[Arg] = [int(voice_id), float(x), float(y), float(amplitude)]
        if shape is not None and width is None:
            raise ValueError("excite: give width when giving shape (positional OSC arguments)")
        if width is not None:
            args.append(float(width))
        if shape is not None:
            args.append(str(shape))
        self.send("/excite", *args)

    def pickup(self, voice_id: int, lx: float, ly: float, rx: float, ry: float) -> None:
        self.send("/pickup", int(voice_id), float(lx), float(ly), float(rx), float(ry))

    def morph(self, voice_id: int, inst: Instrument, t: float,
              seconds: Optional[float] = None) -> None:
        args: List[Arg] = [int(voice_id), _inst(inst), float(t)]
        if seconds is not None:
            args.append(float(seconds))
        self.send("/morph", *args)

    def master_gain(self, gain: float) -> None:
        self.send("/master/gain", float(gain))

    # Modulators and presets (extensions of the contract, docs/osc.md)

    def voice_mod(self, voice_id: int, param: str, shape: str, rate: float,
                  depth: float, phase: Optional[float] = None) -> None:
        """/voice/mod: an LFO (sine, triangle, saw, square) or smoothed noise
        on ``param``; ``depth`` in the parameter's units."""
        args: List[Arg] = [int(voice_id), str(param), str(shape), float(rate), float(depth)]
        if phase is not None:
            args.append(float(phase))
        self.send("/voice/mod", *args)

    def voice_mod_clear(self, voice_id: int, param: Optional[str] = None) -> None:
        """/voice/mod/clear: remove one modulator, or all of them."""
        args: List[Arg] = [int(voice_id)] + ([str(param)] if param else [])
        self.send("/voice/mod/clear", *args)

    def preset_save(self, name: str, voice_id: int) -> None:
        """/preset/save: the voice's controls and the master gain, as ``name``."""
        self.request("/preset/save", str(name), int(voice_id), reply="/done",
                     match=lambda r: bool(r.args) and r.args[0] == "/preset/save")

    def preset_recall(self, name: str, target: Union[int, str],
                      seconds: Optional[float] = None) -> None:
        """/preset/recall on a voice id or every voice of an instrument name,
        at once or gliding over ``seconds``."""
        args: List[Arg] = [str(name), target if isinstance(target, str) else int(target)]
        if seconds is not None:
            args.append(float(seconds))
        self.request("/preset/recall", *args, reply="/done",
                     match=lambda r: bool(r.args) and r.args[0] == "/preset/recall")

    def preset_list(self) -> List[str]:
        r = self.request("/preset/list", reply="/preset/list.reply")
        return [str(a) for a in r.args[1:1 + int(r.args[0])]]

    def preset_delete(self, name: str) -> None:
        self.request("/preset/delete", str(name), reply="/done",
                     match=lambda r: bool(r.args) and r.args[0] == "/preset/delete")

    def midi(self, status: int, data1: Optional[int] = None,
             data2: Optional[int] = None, as_type: str = "ints") -> None:
        """/midi: ``as_type`` "ints" (1-3 'i'), "m" (OSC MIDI) or "blob"."""
        data = [b for b in (status, data1, data2) if b is not None]
        if as_type == "ints":
            self.send("/midi", *[int(b) for b in data])
        elif as_type == "m":
            padded = (data + [0, 0])[:3]
            self.send("/midi", (0, padded[0], padded[1], padded[2]))
        elif as_type == "blob":
            self.send("/midi", bytes(data))
        else:
            raise ValueError("as_type must be 'ints', 'm' or 'blob'")


# ---------------------------------------------------------------- CLI/demo

def print_status(st: Dict[str, Any], out=sys.stdout) -> None:
    width = max(len(k) for k in st)
    for key, value in st.items():
        shown = f"{value:.6g}" if isinstance(value, float) else value  # float32 noise
        print(f"  {key:<{width}} : {shown}", file=out)


def _coerce(token: str) -> Arg:
    """Command-line argument -> int, float or string."""
    for kind in (int, float):
        try:
            return kind(token)
        except ValueError:
            pass
    return token


def connect_or_exit(args: argparse.Namespace) -> Tuple[NeirosynthClient, Dict[str, Any]]:
    ns = NeirosynthClient(args.host, args.port, timeout=args.timeout,
                          local_port=args.local_port, verbose=args.verbose)
    try:
        st = ns.status(timeout=args.timeout)
    except NeirosynthTimeout:
        print(f"neirosynth did not answer /status within {args.timeout:g} s at "
              f"{args.host}:{args.port} (is `neirosynth serve` running on that port? "
              f"is a --reply-port sending replies elsewhere?)", file=sys.stderr)
        sys.exit(2)
    return ns, st


def demo(args: argparse.Namespace) -> int:
    ns, st = connect_or_exit(args)
    print(f"connected to {args.host}:{args.port} (replies to local port {ns.local_port})")
    print_status(st)
    try:
        name, ver = ns.version()
        print(f"server: {name} {ver}")
    except (NeirosynthTimeout, NeirosynthError) as exc:
        print(f"/version: {exc}")
    try:
        print("instruments:", ", ".join(ns.inst_list()))
    except (NeirosynthTimeout, NeirosynthError) as exc:
        print(f"/inst/list: {exc}")

    inst, target = args.inst, args.morph_to
    ns.notify(True)          # needed for /voice/started and /voice/end

    # 1. plain notes (MIDI-like); instrument by name and by index 0
    ns.note_on(inst, 48, 0.8)
    ns.note_on(target, 67, 0.6)
    ns.sync()
    time.sleep(min(0.6, args.demo_seconds / 8))
    ns.note_off(inst, 48)
    ns.note_off(target, 67)
    ns.note_on(0, 55, 0.7)   # index 0 in the bank
    ns.note_off(0, 55)

    # 2. a timed bundle: a marimba arpeggio, 120 ms apart, on the server's clock
    now = time.time() + 0.1
    for i, note in enumerate((72, 76, 79, 84)):
        ns.send_bundle([("/note/on", target, float(note), 0.5)], at=now + i * 0.12)
        ns.send_bundle([("/note/off", target, float(note))], at=now + i * 0.12 + 0.1)

    # 3. a voice: server-picked id, moving strikes and pickups, a morph
    vid = ns.voice_new(-1, inst, 45, 0.9, gain=0.8, pan=0.0)
    print(f"voice {vid} started")
    ns.pickup(vid, 0.2, 0.5, 0.8, 0.5)
    ns.preset_save("demo-start", vid)          # its controls as they start
    ns.voice_mod(vid, "pan", "sine", 2.0, 0.6)  # pan swings ±0.6 twice a second
    ns.morph(vid, target, 0.0)                 # set the morph target, t = 0
    ns.checked("/voice/set", vid, "damping", 1.0)  # raises on /fail
    rate = 50.0                                # control frames per second
    frames = max(1, int(args.demo_seconds * rate))
    start = time.monotonic()
    for frame in range(frames):
        t = frame / rate
        phase = t / max(args.demo_seconds, 1e-3)          # 0..1 over the demo
        if frame % 10 == 0:                               # 5 strikes a second
            angle = 2 * math.pi * t * 0.7
            radius = 0.1 + 0.3 * phase                    # spiral outwards
            x, y = 0.5 + radius * math.cos(angle), 0.5 + radius * math.sin(angle)
            strike = frame // 10                          # strike, pluck, noise, ...
            shape = EXCITE_SHAPES[strike % len(EXCITE_SHAPES)]
            ns.excite(vid, x, y, 0.7, 0.05, shape)
        # pickups orbit the centre in opposite directions
        a = 2 * math.pi * t * 0.25
        ns.pickup(vid, 0.5 + 0.3 * math.cos(a), 0.5 + 0.3 * math.sin(a),
                  0.5 + 0.3 * math.cos(-a + math.pi), 0.5 + 0.3 * math.sin(-a + math.pi))
        ns.voice_set(vid, morph=0.5 - 0.5 * math.cos(2 * math.pi * phase))  # 0 -> 1 -> 0
        # pace the animation (not synchronisation)
        next_at = start + (frame + 1) / rate
        delay = next_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    ns.morph(vid, target, 1.0, 1.5)            # glide to the target over 1.5 s
    ns.voice_mod_clear(vid, "pan")             # the LFO fades out
    ns.preset_recall("demo-start", vid, 0.5)   # glide back to the start in 0.5 s
    print(f"presets: {', '.join(ns.preset_list())}")
    ns.sync()
    for fail in ns.take_fails():
        print(f"server refused: {fail.args}", file=sys.stderr)

    try:
        ns.voice_release(vid, wait=True, timeout=max(5.0, args.timeout))
        print(f"voice {vid} ended")
    except NeirosynthTimeout:
        print(f"voice {vid}: no /voice/end yet, freeing it")
        ns.voice_free(vid)
    print_status(ns.status())
    ns.notify(False)
    ns.close()
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(description="neirosynth OSC client and demo")
    p.add_argument("command", nargs="?", default="demo",
                   choices=("demo", "status", "version", "list", "send"),
                   help="what to do (default: demo)")
    p.add_argument("osc", nargs="*", help="for 'send': ADDRESS [ARG...]")
    p.add_argument("--host", default=DEFAULT_HOST)
    p.add_argument("--port", type=int, default=DEFAULT_PORT)
    p.add_argument("--local-port", type=int, default=0,
                   help="bind the client socket to this port (default: any)")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT)
    p.add_argument("--demo-seconds", type=float, default=8.0)
    p.add_argument("--inst", default="drum", help="demo instrument (name or index)")
    p.add_argument("--morph-to", default="bell", help="demo morph target (same mesh as the instrument: the shipped drum and bell are 64×64)")
    p.add_argument("--expect", default=None,
                   help="for 'send': wait for this reply address and print it")
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args(argv)
    for attr in ("inst", "morph_to"):
        value = getattr(args, attr)
        if value.isdigit():
            setattr(args, attr, int(value))

    try:
        if args.command == "demo":
            return demo(args)
        ns, st = connect_or_exit(args)
        with ns:
            if args.command == "status":
                print_status(st)
            elif args.command == "version":
                print(*ns.version())
            elif args.command == "list":
                for i, name in enumerate(ns.inst_list()):
                    print(i, name)
            elif args.command == "send":
                if not args.osc or not args.osc[0].startswith("/"):
                    p.error("send needs an OSC address, e.g. send /note/on drum 48 0.8")
                address, rest = args.osc[0], [_coerce(t) for t in args.osc[1:]]
                if args.expect:
                    r = ns.request(address, *rest, reply=args.expect)
                    print(r.address, *r.args)
                else:
                    ns.checked(address, *rest)
        return 0
    except NeirosynthError as exc:
        print(f"neirosynth refused {exc}", file=sys.stderr)
        return 1
    except NeirosynthTimeout as exc:
        print(f"neirosynth: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
