"""The viewer server on an ephemeral port: frames, commands, bad clients, static files."""

from __future__ import annotations

import json
import socket
import time

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from neural_mmo.agents import record_scripted_run
from neural_mmo.config import Config
from neural_mmo.replay import ReplayReader
from neural_mmo.viewer.server import CommandError, LiveSource, ReplaySource, ViewerServer, parse_command

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
