"""The viewer server on an ephemeral port: frames, commands, bad clients, static files."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from neural_mmo.agents import record_scripted_run
from neural_mmo.config import Config
from neural_mmo.replay import ReplayReader
from neural_mmo.viewer import server as server_module
from neural_mmo.viewer.server import (
    COMMAND_BURST,
    FLOOD_LIMIT,
    CommandError,
    Guard,
    LiveSource,
    ReplaySource,
    ViewerServer,
    parse_command,
)
from neural_mmo.world.items import ItemType

TIMEOUT = 30  # only keeps a broken test from hanging


def wait_for(predicate, what: str):
    deadline = time.monotonic() + TIMEOUT
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)


@pytest.fixture
def live():
    server = ViewerServer(LiveSource(Config.preset("small"), seed=1), port=0, fps=200).start_in_thread()
    yield server
    server.stop()
    server.source.close()


@pytest.fixture(scope="module")
def replay_file(tmp_path_factory):
    return record_scripted_run(
        tmp_path_factory.mktemp("viewer") / "run.replay", Config.preset("small"), 2, 30
    )


def url(server) -> str:
    return f"ws://127.0.0.1:{server.port}/ws"


def frames(ws, n: int) -> list[dict]:
    out = []
    while len(out) < n:
        msg = json.loads(ws.recv(timeout=TIMEOUT))
        if msg["type"] == "frame":
            out.append(msg)
    return out


def reply(ws, kind: str) -> dict:
    while True:
        msg = json.loads(ws.recv(timeout=TIMEOUT))
        if msg["type"] == kind:
            return msg


def test_live_client_gets_increasing_ticks_and_map(live):
    with connect(url(live)) as ws:
        hello = json.loads(ws.recv(timeout=TIMEOUT))
        assert hello["type"] == "hello" and hello["source"] == "live" and "counts" in hello["overlays"]
        assert "resources" in hello["overlays"]
        assert hello["items"][ItemType.SPEAR] == "spear" and len(hello["items"]) == len(ItemType)
        assert hello["equip_slots"] == ["weapon", "tool", "head", "body", "legs", "ammo"]
        got = frames(ws, 6)
    ticks = [f["tick"] for f in got]
    assert ticks == sorted(ticks) and ticks[-1] > ticks[0]
    assert "full" in got[0]["map"]
    assert live.host == "127.0.0.1"


def test_overlay_layer_is_streamed(live):
    with connect(url(live)) as ws:
        ws.send(json.dumps({"cmd": "overlay", "name": "skills", "skill": "melee"}))
        while True:
            frame = frames(ws, 1)[0]
            if "overlay" in frame:
                break
        assert frame["overlay"]["name"] == "skills:melee"
        assert frame["overlay"]["rows"] == frame["grid"] and frame["overlay"]["max"] >= 1


def test_replay_seek_matches_replay_state(replay_file):
    server = ViewerServer(ReplaySource(replay_file), port=0, fps=50).start_in_thread()
    try:
        with connect(url(server)) as ws:
            hello = reply(ws, "hello")
            assert hello["ticks"] == [0, 30]
            ws.send(json.dumps({"cmd": "pause"}))
            ws.send(json.dumps({"cmd": "seek", "tick": 17}))
            frame = next(f for f in iter(lambda: frames(ws, 1)[0], None) if f["tick"] == 17)
            ws.send(json.dumps({"cmd": "seek", "tick": 99}))
            assert "outside" in reply(ws, "error")["error"]
    finally:
        server.stop()
        server.source.close()
    with ReplayReader(replay_file) as reader:
        state = reader.state_at(17)
    alive = state.agents.alive
    assert frame["agents"]["r"] == state.agents.r[alive].tolist()
    assert frame["agents"]["c"] == state.agents.c[alive].tolist()
    assert frame["agents"]["id"] == state.agents.agent_id[alive].tolist()


def test_bad_messages_get_errors_and_server_survives(live):
    with connect(url(live)) as ws:
        ws.send("{not json")
        assert "malformed" in reply(ws, "error")["error"]
        ws.send(json.dumps({"cmd": "rm -rf"}))
        assert "unknown command" in reply(ws, "error")["error"]
        ws.send(json.dumps({"cmd": "speed", "value": 1e9}))
        assert "speed" in reply(ws, "error")["error"]
        ws.send(json.dumps({"cmd": "seek", "tick": 3}))
        assert "live" in reply(ws, "error")["error"]
        ws.send(json.dumps({"cmd": "overlay", "name": "nope"}))
        assert "unknown name" in reply(ws, "error")["error"]
        ws.send(json.dumps({"cmd": "play", "x": [1] * 3000}))  # over 4 KB: the connection is closed
        with pytest.raises(ConnectionClosed):
            while True:
                ws.recv(timeout=TIMEOUT)
    with connect(url(live)) as ws:  # a second client is served as before
        assert len(frames(ws, 2)) == 2


@pytest.mark.parametrize(
    "text, error",
    [
        ("[]", "JSON object"),
        ('{"cmd": "speed"}', "missing"),
        ('{"cmd": "speed", "value": true}', "wrong type"),
        ('{"cmd": "seek", "tick": 1.5}', "wrong type"),
        ('{"cmd": "overlay", "name": "skills", "skill": "juggling"}', "unknown skill"),
        ('{"cmd": "pause", "extra": 1}', "unexpected"),
        ("[" * 5000, "limit"),
    ],
)
def test_parse_command_rejects(text, error):
    with pytest.raises(CommandError, match=error):
        parse_command(text)


def silent_client(server) -> socket.socket:
    """A websocket client that completes the handshake and then never reads, with a small receive
    window so that the server's buffers fill after a few frames."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(TIMEOUT)
    sock.connect(("127.0.0.1", server.port))
    sock.sendall(
        b"GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    assert sock.recv(12) == b"HTTP/1.1 101"
    return sock


def test_client_that_never_reads_does_not_stall(live):
    live.send_buffer = 4096  # small kernel buffers: the queue fills after a few frames, not megabytes
    with silent_client(live):
        wait_for(lambda: any(c.dropped > 0 for c in live.clients), "a frame to be dropped")
        client = next(c for c in live.clients if c.dropped > 0)
        tick, dropped = live.tick, client.dropped
        wait_for(lambda: live.tick >= tick + 20, "the world to keep ticking")
        assert client.dropped >= dropped + 10  # it still reads nothing, so nearly every frame is dropped
        assert len(client.queue) <= 2
        with connect(url(live)) as other:  # and another client still gets fresh frames
            assert frames(other, 2)[1]["tick"] > tick
        assert len(client.queue) <= 2


def http_get(server, path: str) -> int:
    with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
        head = sock.recv(4096).decode("latin-1")
    return int(head.split()[1])


def test_static_files_only_from_web(live):
    assert http_get(live, "/") == 200
    assert http_get(live, "/index.html") == 200
    assert http_get(live, "/main.js") == 200
    bad = ["/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/..%2f..%2fetc/passwd", "/nope.html"]
    bad += [
        "//etc/passwd",
        "/%2fetc%2fpasswd",
        "/..\\..\\etc\\passwd",
        "/%c0%ae%c0%ae/etc/passwd",
        "/.hidden",
    ]
    for path in bad:
        assert http_get(live, path) == 404, path


# ---------------------------------------------------------------------- who may connect


def handshake(server, host: str | None, origin: str | None = None, path: str = "/ws") -> int:
    """HTTP status of a request with these ``Host`` and ``Origin`` headers (a websocket handshake
    for ``/ws``, a plain GET otherwise)."""
    lines = [f"GET {path} HTTP/1.1"]
    if host is not None:
        lines.append(f"Host: {host}")
    if origin is not None:
        lines.append(f"Origin: {origin}")
    if path == "/ws":
        lines += ["Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Version: 13",
                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="]  # fmt: skip
    with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = sock.recv(4096).decode("latin-1")
    return int(head.split()[1])


@pytest.fixture
def quiet():
    """A paused live world: only the headers are under test."""
    server = ViewerServer(LiveSource(Config.preset("small"), seed=1), port=0, fps=5).start_in_thread()
    server.playing = False
    yield server
    server.stop()
    server.source.close()


@pytest.mark.parametrize("path", ["/ws", "/", "/main.js"])
def test_foreign_host_or_origin_is_refused(quiet, path):
    port = quiet.port
    refused = [
        (f"evil.example.com:{port}", None),  # DNS rebinding: a foreign name resolving to 127.0.0.1
        ("evil.example.com", None),
        (f"localhost.evil.example.com:{port}", None),
        (f"127.0.0.1:{port + 1}", None),
        (None, None),
        (f"127.0.0.1:{port}", f"http://evil.example.com:{port}"),  # another web page the user visits
        (f"127.0.0.1:{port}", "http://evil.example.com"),
        (f"127.0.0.1:{port}", f"http://localhost:{port + 1}"),  # another local site
        (f"127.0.0.1:{port}", "null"),
        (f"127.0.0.1:{port}", f"file://127.0.0.1:{port}"),
    ]
    for host, origin in refused:
        assert handshake(quiet, host, origin, path) == 403, (host, origin)
    accepted = [
        (f"127.0.0.1:{port}", None),
        (f"localhost:{port}", None),
        (f"[::1]:{port}", None),
        ("localhost", None),
        (f"127.0.0.1:{port}", f"http://127.0.0.1:{port}"),
        (f"localhost:{port}", f"http://localhost:{port}"),
        (f"127.0.0.1:{port}", f"http://[::1]:{port}"),
    ]
    for host, origin in accepted:
        assert handshake(quiet, host, origin, path) == (101 if path == "/ws" else 200), (host, origin)


def test_a_browser_client_from_a_foreign_page_is_refused(quiet):
    from websockets.exceptions import InvalidStatus

    with pytest.raises(InvalidStatus) as refused:
        connect(url(quiet), origin="http://evil.example.com", open_timeout=TIMEOUT)
    assert refused.value.response.status_code == 403
    with connect(url(quiet), origin=f"http://127.0.0.1:{quiet.port}", open_timeout=TIMEOUT) as ws:
        assert reply(ws, "hello")["source"] == "live"


def test_allow_lists_add_names_and_origins():
    server = ViewerServer(
        LiveSource(Config.preset("small"), seed=1), port=0, fps=5,
        allow_hosts=["viewer.example.com", "proxy.example.com:443"], allow_origins=["https://viewer.example.com"],
    ).start_in_thread()  # fmt: skip
    try:
        port = server.port
        assert handshake(server, f"viewer.example.com:{port}", "https://viewer.example.com") == 101
        assert handshake(server, "proxy.example.com:443", "https://viewer.example.com") == 101
        assert handshake(server, "proxy.example.com", None) == 403  # allowed with port 443 only
        assert handshake(server, f"viewer.example.com:{port}", f"http://viewer.example.com:{port}") == 101
        assert handshake(server, f"viewer.example.com:{port}", "https://other.example.com") == 403
        assert handshake(server, f"evil.example.com:{port}", "https://viewer.example.com") == 403
    finally:
        server.stop()
        server.source.close()
    anything = ViewerServer(
        LiveSource(Config.preset("small"), seed=1), port=0, fps=5, allow_hosts=["*"], allow_origins=["*"]
    ).start_in_thread()
    try:
        assert handshake(anything, "evil.example.com", "http://evil.example.com") == 101
    finally:
        anything.stop()
        anything.source.close()


@pytest.mark.parametrize(
    "hosts, origins, error",
    [(["evil.com/x"], [], "allowed host"), (["a@b"], [], "allowed host"), (["h:99999"], [], "allowed host"),
     ([], ["evil.com"], "allowed origin"), ([], ["ftp://x.com"], "allowed origin"),
     ([], ["http://x.com/path"], "allowed origin")],
)  # fmt: skip
def test_bad_allow_list_entries_are_refused(hosts, origins, error):
    with pytest.raises(ValueError, match=error):
        Guard("127.0.0.1", hosts, origins)


# ---------------------------------------------------------------------- no client starves the others


def test_a_burst_of_commands_is_rate_limited_and_a_flood_is_closed(live):
    with connect(url(live)) as ws:
        for _ in range(COMMAND_BURST + 20):
            ws.send(json.dumps({"cmd": "play"}))
        assert "rate limit" in reply(ws, "error")["error"]
        client = next(iter(live.clients))
        wait_for(lambda: client.refused >= 10, "commands to be dropped")
        assert client.refused <= 20 + 10  # the burst was accepted (a few tokens came back meanwhile)
        time.sleep(1.0)  # tokens come back at COMMAND_RATE per second
        ws.send(json.dumps({"cmd": "speed", "value": 2}))
        wait_for(lambda: live.speed == 2.0, "a command after the pause to be accepted")
        with pytest.raises(ConnectionClosed) as closed:
            for _ in range(COMMAND_BURST + FLOOD_LIMIT + 50):
                ws.send(json.dumps({"cmd": "play"}))
            while True:
                ws.recv(timeout=TIMEOUT)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    with connect(url(live)) as ws:  # others are served as before
        assert len(frames(ws, 2)) == 2


def test_a_burst_of_seeks_is_applied_once(replay_file):
    server = ViewerServer(ReplaySource(replay_file), port=0, fps=10).start_in_thread()
    calls = []
    seek = server.source.seek
    server.source.seek = lambda tick: calls.append(tick) or seek(tick)
    try:
        with connect(url(server)) as ws:
            reply(ws, "hello")
            ws.send(json.dumps({"cmd": "pause"}))
            for tick in range(1, 31):
                ws.send(json.dumps({"cmd": "seek", "tick": tick}))
            frame = next(f for f in iter(lambda: frames(ws, 1)[0], None) if f["tick"] == 30)
    finally:
        server.stop()
        server.source.close()
    assert frame["tick"] == 30 and calls[-1] == 30
    assert len(calls) <= 5, calls  # the last one wins: one seek per frame period, not per message


FLOODER = """
import itertools, json, sys, time
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect
port, seconds = int(sys.argv[1]), float(sys.argv[2])
sent = 0
deadline = time.monotonic() + seconds
agents = itertools.count()
print("go", flush=True)
while time.monotonic() < deadline:
    try:
        with connect(f"ws://127.0.0.1:{port}/ws", max_queue=None) as ws:
            while time.monotonic() < deadline:
                agent = next(agents)
                ws.send(json.dumps({"cmd": "overlay", "name": "counts", "agent": agent}))
                ws.send(json.dumps({"cmd": "seek", "tick": agent % 30}))
                sent += 2
    except (ConnectionClosed, OSError):
        pass
print(sent, flush=True)
"""


def flood(server, seconds: float) -> subprocess.Popen:
    """A client in another process sending overlay requests with new agent ids and seeks as fast
    as it can for ``seconds`` (reconnecting when closed); returns once it has started."""
    process = subprocess.Popen(
        [sys.executable, "-c", FLOODER, str(server.port), str(seconds)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout.readline().strip() == "go"
    return process


class TickLog:
    """Reads a client's frames continuously in a thread (so none pile up unread) and notes when
    each frame of a new tick arrived."""

    def __init__(self, ws):
        self.ws, self.arrivals, self.done = ws, [], False
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        last = -1
        while not self.done:
            try:
                msg = json.loads(self.ws.recv(timeout=1.0))
            except TimeoutError:
                continue
            except ConnectionClosed:
                return
            if msg["type"] == "frame" and msg["tick"] > last:
                last = msg["tick"]
                self.arrivals.append(time.monotonic())

    def rate(self, start: float, end: float) -> float:
        """New ticks per second that arrived between ``start`` and ``end``."""
        return sum(start <= t < end for t in self.arrivals) / (end - start)


@pytest.mark.parametrize("closing", [True, False])
def test_a_flooding_client_does_not_starve_another(closing, monkeypatch):
    """``closing``: as served (the flooder is closed and reconnects); otherwise it is never closed,
    so its commands are read and dropped for the whole flood."""
    if not closing:
        monkeypatch.setattr(server_module, "FLOOD_LIMIT", float("inf"))
    server = ViewerServer(LiveSource(Config.preset("small"), seed=1), port=0, fps=10).start_in_thread()
    flooder = None
    try:
        with connect(url(server)) as ws:
            reply(ws, "hello")
            log = TickLog(ws)
            start = time.monotonic()
            time.sleep(3.0)
            flooder = flood(server, 6.0)
            flooding = time.monotonic()
            time.sleep(4.5)
            before, during = log.rate(start, start + 3.0), log.rate(flooding + 0.5, flooding + 4.5)
            sent = int(flooder.communicate(timeout=60)[0].split()[-1])
            log.done = True
            log.thread.join(TIMEOUT)
    finally:
        if flooder is not None and flooder.poll() is None:
            flooder.kill()
            flooder.wait()
        server.stop()
        server.source.close()
    assert sent > (200 if closing else 2000), sent  # it did flood
    assert during >= before / 2, f"{during:.1f} new ticks/s during the flood, {before:.1f} before"
    assert closing or server.refused > 1000, server.refused  # and was not closed


def test_a_new_client_is_served_promptly_during_a_seek_flood(tmp_path):
    replay = record_scripted_run(tmp_path / "big.replay", Config.preset("medium"), 3, 60)
    server = ViewerServer(ReplaySource(replay), port=0, fps=10).start_in_thread()
    flooder = None
    try:
        flooder = flood(server, 8.0)
        time.sleep(2.0)
        start = time.monotonic()
        with connect(url(server), open_timeout=TIMEOUT) as ws:
            reply(ws, "hello")
            frames(ws, 1)
            waited = time.monotonic() - start
        flooder.communicate(timeout=60)
    finally:
        if flooder is not None and flooder.poll() is None:
            flooder.kill()
            flooder.wait()
        server.stop()
        server.source.close()
    assert waited < 3.0, f"the new client waited {waited:.1f} s for its first frame"


class SlowSource:
    """A live world whose every tick takes longer than the frame period."""

    seekable = False

    def __init__(self, seconds: float):
        self.inner, self.seconds = LiveSource(Config.preset("small"), seed=1), seconds

    @property
    def state(self):
        return self.inner.state

    def advance(self):
        time.sleep(self.seconds)  # holds the loop, as a big world would
        return self.inner.advance()

    def close(self):
        self.inner.close()


def test_a_source_slower_than_its_fps_still_lets_clients_in():
    server = ViewerServer(SlowSource(0.02), port=0, fps=200).start_in_thread()
    try:
        for _ in range(3):
            with connect(url(server), open_timeout=TIMEOUT) as ws:
                assert reply(ws, "hello")["source"] == "live"
                ticks = [f["tick"] for f in frames(ws, 2)]
                assert ticks[1] > ticks[0]
    finally:
        server.stop()
        server.source.close()
