"""The viewer's server: static files of ``web/`` over HTTP and frames over a websocket (``/ws``).

One asyncio loop runs the source (a live world or a replay) at ``fps`` ticks per second and hands
each frame to every client's bounded queue; a per-client task sends from that queue. A client that
reads slowly (or never) loses its oldest queued frames (``Client.dropped``); the simulation never
waits for it. Client messages are small JSON objects checked by :func:`parse_command`.

No client can starve the others:

* each client has a token bucket of :data:`COMMAND_BURST` commands refilled at
  :data:`COMMAND_RATE` per second; a command beyond it is dropped unread (the client is told once
  per run of drops), and a client that keeps flooding (more than :data:`FLOOD_LIMIT` drops, the
  count draining at the refill rate) is closed with code 1008;
* work a command asks for is done by the source loop, at most once per frame period (``1/fps``),
  the last request winning: a burst of seeks costs one seek, a burst of overlay choices one layer;
* an overlay layer is computed once per frame for all clients that chose it (a client's layer is
  keyed by overlay, skill and selected agent).

Only pages of this server may connect: :class:`Guard` checks ``Host`` and ``Origin`` on every
request (websocket and static files) and answers 403 otherwise, against DNS rebinding and against
other web pages the user visits.
"""

from __future__ import annotations

import asyncio
import json
import mimetypes
import socket
import sys
import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import numpy as np
from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from neural_mmo.viewer.frames import EQUIP_SLOT_NAMES, ITEM_NAMES, Frame, FrameEncoder, frame_text
from neural_mmo.viewer.overlays import (
    OverlayError,
    OverlayTracker,
    WorldView,
    compute_overlay,
    overlay_names,
    quantise,
)
from neural_mmo.world.state import WorldState
from neural_mmo.world.tables import Skill

if TYPE_CHECKING:
    from neural_mmo.agents.base import Policy
    from neural_mmo.observe.layout import ObsLayout

WEB = Path(__file__).parent / "web"
MAX_MESSAGE = 4096
QUEUE_FRAMES = 2
SPEED_RANGE = (0.1, 16.0)
SEND_BUFFER = 256 * 1024
"""Kernel send buffer per client (bytes): a slow client holds at most this much of stale frames
beyond its queue, so it catches up to the present instead of watching the past."""
COMMAND_RATE = 20.0
"""Commands per second a client may send, sustained."""
COMMAND_BURST = 40
"""Commands a client may send at once (the browser sends a handful on connecting)."""
FLOOD_LIMIT = 200
"""Dropped commands (the count drains at ``COMMAND_RATE`` per second) after which a client is closed."""
RATE_LIMITED = (
    f"rate limit: at most {COMMAND_RATE:g} commands per second ({COMMAND_BURST} at once); "
    "commands are dropped until you slow down"
)
OVERLAY_CACHE = 32
"""Overlay layers kept per frame; beyond it, layers no client shows any more are forgotten."""
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
"""Host names under which a server is always reachable from its own machine."""
WILDCARD_HOSTS = ("", "0.0.0.0", "::")


class CommandError(ValueError):
    """A client message that is not a valid command (sent back to that client as an error)."""


# ---------------------------------------------------------------------- client messages

# command -> {arg: (types, required)}
COMMANDS: dict[str, dict[str, tuple[tuple[type, ...], bool]]] = {
    "play": {},
    "pause": {},
    "speed": {"value": ((int, float), True)},
    "seek": {"tick": ((int,), True)},
    "overlay": {
        "name": ((str, type(None)), True),
        "skill": ((str,), False),
        "agent": ((int, type(None)), False),
    },
}


def parse_command(text: str | bytes) -> dict[str, Any]:
    """A client message as ``{"cmd": ..., args}``, or :class:`CommandError` saying what is wrong."""
    if isinstance(text, bytes):
        raise CommandError("binary messages are not accepted; send JSON text")
    if len(text) > MAX_MESSAGE:
        raise CommandError(f"message of {len(text)} characters; the limit is {MAX_MESSAGE}")
    try:
        msg = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        raise CommandError("malformed JSON") from None
    if not isinstance(msg, dict):
        raise CommandError("expected a JSON object with a 'cmd' field")
    cmd = msg.get("cmd")
    if not isinstance(cmd, str) or cmd not in COMMANDS:
        raise CommandError(f"unknown command {str(cmd)[:40]!r}; known: {', '.join(COMMANDS)}")
    spec = COMMANDS[cmd]
    extra = set(msg) - {"cmd"} - set(spec)
    if extra:
        raise CommandError(f"{cmd}: unexpected fields {sorted(str(k)[:40] for k in extra)}")
    for arg, (types, required) in spec.items():
        if arg not in msg:
            if required:
                raise CommandError(f"{cmd}: missing field {arg!r}")
            continue
        value = msg[arg]
        if isinstance(value, bool) or not isinstance(value, types):
            raise CommandError(f"{cmd}: field {arg!r} has the wrong type")
    if cmd == "speed" and not (SPEED_RANGE[0] <= msg["value"] <= SPEED_RANGE[1]):
        raise CommandError(f"speed: value must be in [{SPEED_RANGE[0]}, {SPEED_RANGE[1]}]")
    if cmd == "overlay":
        if msg["name"] is not None and msg["name"] not in overlay_names():
            raise CommandError(f"overlay: unknown name; known: {', '.join(overlay_names())}")
        skill = msg.get("skill", "melee")
        if skill.upper() not in Skill.__members__:
            raise CommandError(f"overlay: unknown skill; known: {', '.join(s.name.lower() for s in Skill)}")
        msg["skill"] = skill.lower()
        if msg.get("agent") is not None and msg["agent"] < 0:
            raise CommandError("overlay: agent must be an agent id (0 or more) or null")
    return msg


# ---------------------------------------------------------------------- who may connect


def split_host(value: str) -> tuple[str, int | None] | None:
    """``"name[:port]"`` (``"[::1]:8765"`` for IPv6) as ``(lowercase name without brackets, port or
    None)``, or None when it is not a plain host (user info, a path, a bad port)."""
    if not value or any(ch in value for ch in "@/?#\\ \t,"):
        return None
    try:
        parts = urlsplit("//" + value)
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname:
        return None
    return parts.hostname, port


class Guard:
    """Which ``Host`` and ``Origin`` headers a server accepts.

    A host name is allowed when it is one of :data:`LOOPBACK_NAMES`, the address the server is
    bound to (unless it binds every interface), the address the request arrived at (an IP literal
    names the server itself) or an ``allow_hosts`` entry; with no port or the server's port (an
    ``allow_hosts`` entry ``name:port`` allows that port instead). ``Host`` must be present and
    allowed. ``Origin`` (browsers send it; other clients need not) must be ``http(s)://`` an allowed
    name with the server's port, or an ``allow_origins`` entry. ``"*"`` in either list allows any.
    """

    def __init__(self, host: str, allow_hosts: Iterable[str] = (), allow_origins: Iterable[str] = ()):
        self.port = 0
        self.any_host = self.any_origin = False
        self.names = set(LOOPBACK_NAMES)
        self.named_ports: set[tuple[str, int]] = set()
        bound = host.strip("[]").lower()
        if bound not in WILDCARD_HOSTS:
            self.names.add(bound)
        for entry in allow_hosts:
            if entry == "*":
                self.any_host = True
                continue
            split = split_host(entry)
            if split is None:
                raise ValueError(f"allowed host {entry!r} is not a host name or NAME:PORT")
            name, port = split
            if port is None:
                self.names.add(name)
            else:
                self.named_ports.add((name, port))
        self.origins: set[str] = set()
        for entry in allow_origins:
            if entry == "*":
                self.any_origin = True
                continue
            origin = _origin(entry)
            if origin is None:
                raise ValueError(
                    f"allowed origin {entry!r} is not SCHEME://HOST[:PORT] (e.g. http://example.com)"
                )
            self.origins.add(origin)

    def _name_ok(self, name: str, port: int | None, local: str | None) -> bool:
        if port is not None and (name, port) in self.named_ports:
            return True
        return (name in self.names or name == local) and port in (None, self.port)

    def check(self, headers: Headers, local: str | None) -> str | None:
        """Why a request is refused (None: it is accepted). ``local``: the address it arrived at."""
        hosts = headers.get_all("Host")
        if len(hosts) != 1:
            return "exactly one Host header is required"
        split = split_host(hosts[0])
        if not self.any_host and (split is None or not self._name_ok(*split, local)):
            return f"Host {hosts[0][:80]!r} is not an address of this server (see --allow-host)"
        origins = headers.get_all("Origin")
        if not origins or self.any_origin:
            return None
        if len(origins) > 1:
            return "more than one Origin header"
        origin = _origin(origins[0])
        if origin is not None and origin in self.origins:
            return None
        parts = None if origin is None else urlsplit(origin)
        if parts is not None and parts.hostname and self._name_ok(parts.hostname, parts.port, local):
            return None
        return f"Origin {origins[0][:80]!r} is not a page of this server (see --allow-origin)"


def _origin(value: str) -> str | None:
    """An origin as ``scheme://name:port`` (default ports written out), or None if it is none."""
    parts = urlsplit(value.strip().rstrip("/"))
    if parts.scheme.lower() not in ("http", "https") or parts.path or parts.query or parts.fragment:
        return None
    split = split_host(parts.netloc)
    if split is None:
        return None
    name, port = split
    port = port if port is not None else (443 if parts.scheme.lower() == "https" else 80)
    return f"{parts.scheme.lower()}://{f'[{name}]' if ':' in name else name}:{port}"


# ---------------------------------------------------------------------- sources


class LiveSource:
    """One world of a :class:`VecEnv` stepped by a policy: a scripted one by name (``fighter``,
    ``forager``, ``random``) or a :class:`~neural_mmo.agents.base.Policy` object, such as a
    checkpoint's ``TrainedPolicy``, whose observations and actions must be this world's. The
    :class:`~neural_mmo.agents.play.Player` plays it, so the policy's ``restart(rows)`` is told
    where agents spawned (recurrent state per agent slot)."""

    seekable = False

    def __init__(self, config: Any, agents: str | Policy = "fighter", seed: int = 0):
        from neural_mmo.agents import Player, make_policy
        from neural_mmo.envs.vector import VecEnv

        self.vec = VecEnv(1, config=config, seed=seed)
        if isinstance(agents, str):
            self.policy = make_policy(agents, self.vec.layout, seed=seed)
        else:
            differences = layout_differences(agents.layout, self.vec.layout)
            if differences:
                raise ValueError(
                    f"the policy does not fit this world's observations and actions: {'; '.join(differences)}"
                )
            self.policy = agents
        self.player = Player(self.vec, self.policy)
        self.player.reset()

    @property
    def state(self) -> WorldState:
        return self.vec.worlds[0]

    def advance(self) -> WorldState:
        self.player.step()
        self._autosave()
        return self.state

    def close(self) -> None:
        self.vec.close()

    # ------------------------------------------------------------------ persistent worlds

    save_path: Path | None = None
    save_every = 0

    def enable_saving(self, path: str | Path, every: int) -> None:
        """Save to ``path`` (atomically) after every tick that is a multiple of ``every``."""
        self.save_path, self.save_every = Path(path), int(every)

    def _autosave(self) -> None:
        if self.save_every and self.save_path is not None and self.state.tick % self.save_every == 0:
            try:
                self.save(self.save_path)
            except ValueError as err:  # SaveError: the world runs on; the last good save stays
                print(f"neural-mmo: warning: {err}", file=sys.stderr, flush=True)

    def save(self, path: str | Path) -> None:
        """Save the world and the policy's state (``neural_mmo.viewer.persist``), atomically."""
        from neural_mmo.viewer.persist import save_live

        save_live(self, path)

    def restore(self, path: Any) -> None:
        """Continue from :meth:`save`'s file (or a read ``SaveFile``) of this config; on a bad
        file ``SaveError`` is raised and nothing changes."""
        from neural_mmo.viewer.persist import restore_live

        restore_live(self, path)


def layout_differences(policy: ObsLayout, world: ObsLayout) -> list[str]:
    """How a policy's observations and actions differ from a world's (empty: it can play there).
    Entity bounds may differ (a bigger map: larger row and column numbers); shapes, tile codes
    and action heads may not."""
    out = []
    for a, b in zip(policy.fields, world.fields):
        if (a.shape, a.dtype) != (b.shape, b.dtype):
            out.append(f"{a.key} {a.dtype}{list(a.shape)} in the policy, {b.dtype}{list(b.shape)} here")
    tiles = policy.fields[0], world.fields[0]
    if tiles[0].shape == tiles[1].shape and not np.array_equal(tiles[0].high, tiles[1].high):
        out.append("tile codes differ (spawn.n_populations)")
    heads = [(h.name, h.size) for h in policy.heads], [(h.name, h.size) for h in world.heads]
    if heads[0] != heads[1]:
        out.append(f"action heads {heads[0]} in the policy, {heads[1]} here")
    return out


class ReplaySource:
    """A replay file, played forward from its first tick; seekable."""

    seekable = True

    def __init__(self, path: str | Path):
        from neural_mmo.replay import ReplayReader

        self.reader = ReplayReader(path)
        self.ticks = self.reader.ticks
        self._state = self.reader.state_at(self.ticks.start)
        self._iter = self.reader.states(self.ticks.start + 1, None)

    @property
    def state(self) -> WorldState:
        return self._state

    @property
    def at_end(self) -> bool:
        return self._state.tick >= self.ticks.stop - 1

    def advance(self) -> WorldState:
        if not self.at_end:
            self._state = next(self._iter)
        return self._state

    def seek(self, tick: int) -> WorldState:
        if tick not in self.ticks:
            raise CommandError(
                f"seek: tick {tick} is outside the replay's {self.ticks.start}..{self.ticks.stop - 1}"
            )
        self._state = self.reader.state_at(tick)
        self._iter = self.reader.states(tick + 1, None)
        return self._state

    def close(self) -> None:
        self.reader.close()


# ---------------------------------------------------------------------- server


@dataclass
class TokenBucket:
    """At most ``rate`` takes per second on average and ``burst`` at once."""

    rate: float
    burst: float
    tokens: float = field(init=False)
    at: float | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.tokens = float(self.burst)

    def take(self, now: float) -> bool:
        if self.at is not None:
            self.tokens = min(float(self.burst), self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


@dataclass(eq=False)
class Client:
    """One websocket connection: its queue of frames, what it has seen, and what it chose."""

    ws: ServerConnection
    queue: deque = field(default_factory=lambda: deque(maxlen=QUEUE_FRAMES))
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    dropped: int = 0
    sent: int = 0
    known: np.ndarray | None = None  # the map this client has
    overlay: str | None = None  # overlay key: "name", "skills:melee"; "@id" added for a selected agent
    commands: TokenBucket = field(default_factory=lambda: TokenBucket(COMMAND_RATE, COMMAND_BURST))
    refused: int = 0  # commands dropped by the rate limit
    excess: float = 0.0  # recent drops, draining at COMMAND_RATE per second
    excess_at: float = 0.0
    throttled: bool = False  # told that its commands are being dropped

    def push(self, frame: Frame) -> None:
        if len(self.queue) == self.queue.maxlen:
            self.dropped += 1  # deque(maxlen) drops the oldest on append
        self.queue.append(frame)
        self.wake.set()

    def admit(self, now: float) -> bool:
        """Whether a command from this client may run now (the token bucket)."""
        if self.commands.take(now):
            self.throttled = False
            return True
        self.refused += 1
        self.excess = max(0.0, self.excess - (now - self.excess_at) * COMMAND_RATE) + 1.0
        self.excess_at = now
        return False


def _overlay_key(name: str, skill: str, agent: int | None = None) -> str:
    key = f"skills:{skill}" if name == "skills" else name
    return key if agent is None else f"{key}@{agent}"


@dataclass
class SelectionView(WorldView):
    """What an overlay function sees, plus the agent the client selected (``agent``: its id;
    None: none chosen). Overlays about one agent (a model's ``attention``) read it."""

    agent: int | None = None


class ViewerServer:
    """Serve ``source`` to browsers: ``await server.serve_forever()`` or ``start_in_thread()``.

    ``allow_hosts`` (``name`` or ``name:port``) and ``allow_origins`` (``scheme://host[:port]``)
    add to what :class:`Guard` accepts; ``"*"`` accepts any."""

    def __init__(
        self, source: Any, host: str = "127.0.0.1", port: int = 8765, fps: float = 10.0,
        send_buffer: int = SEND_BUFFER, allow_hosts: Iterable[str] = (), allow_origins: Iterable[str] = (),
    ):  # fmt: skip
        if not fps > 0:
            raise ValueError(f"fps must be positive, got {fps}")
        self.source = source
        self.host, self.port, self.fps = host, port, float(fps)
        self.guard = Guard(host, allow_hosts, allow_origins)
        self.send_buffer = send_buffer
        self.on_ready: Any = None  # called with the server once it listens (the CLI prints the address)
        self.speed = 1.0
        self.playing = True
        self.clients: set[Client] = set()
        self.encoder = FrameEncoder()
        self.tracker = OverlayTracker()
        self.tick = source.state.tick
        self.frame: Frame | None = None
        self.seeks = 0  # seeks applied (a burst of seek commands counts once)
        self.refused = 0  # commands dropped by the rate limit, all clients together
        self._seek: tuple[int, Client] | None = None  # the last seek asked for, and by whom
        self._layer_wanted: set[Client] = set()  # clients that chose an overlay since the last frame
        self._wake: asyncio.Event | None = None
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    # ------------------------------------------------------------------ frames

    def _publish(self, state: WorldState) -> None:
        self.tracker.observe(state)
        frame = self.encoder.encode(state)
        self._add_layers(frame, state, {c.overlay for c in self.clients if c.overlay is not None})
        self.tick = state.tick
        self.frame = frame
        self._layer_wanted.clear()  # every client gets this frame with its layer
        for client in self.clients:
            client.push(frame)

    def _add_layers(self, frame: Frame, state: WorldState, keys: set[str]) -> None:
        """Compute the overlay layers ``keys`` for ``frame`` (of ``state``), those it lacks."""
        missing = [key for key in keys if key not in frame.overlays]
        if len(frame.overlays) + len(missing) > OVERLAY_CACHE:
            shown = {c.overlay for c in self.clients}
            for key in [k for k in frame.overlays if k not in shown]:
                del frame.overlays[key]
        for key in missing:
            base, _, agent = key.partition("@")
            name, _, skill = base.partition(":")
            tracked = self.tracker.view(state, Skill[skill.upper()] if skill else Skill.MELEE)
            view = SelectionView(**vars(tracked), agent=int(agent) if agent else None)
            try:
                layer = quantise(compute_overlay(name, view))
            except OverlayError as err:
                for client in [c for c in self.clients if c.overlay == key]:
                    client.overlay = None
                    self._reply(client, {"type": "error", "error": str(err)})
                continue
            frame.overlays[key] = json.dumps({"name": key, **layer}, separators=(",", ":"))

    def _reply(self, client: Client, message: dict) -> None:
        asyncio.ensure_future(self._send_quietly(client, json.dumps(message)))

    @staticmethod
    async def _send_quietly(client: Client, text: str) -> None:
        try:
            await client.ws.send(text)
        except ConnectionClosed:
            pass

    def _apply_requests(self) -> bool:
        """Do what clients asked for since the last frame: the last seek, the chosen overlays.
        True when a frame was published (a seek)."""
        request, self._seek = self._seek, None
        if request is not None:
            tick, client = request
            try:
                state = self.source.seek(tick)
            except (ValueError, OSError) as err:  # a replay damaged there: only the asker hears of it
                self._reply(client, {"type": "error", "error": f"seek: {err}"})
            else:
                self.seeks += 1
                self._publish(state)
                return True
        wanted = [c for c in self._layer_wanted if c in self.clients and c.overlay is not None]
        self._layer_wanted.clear()
        if wanted and self.frame is not None:
            self._add_layers(self.frame, self.source.state, {c.overlay for c in wanted if c.overlay})
            for client in wanted:
                client.push(self.frame)  # the current tick again, with its new layer (paused streams too)
        return False

    async def _run_source(self) -> None:
        assert self._stop is not None and self._wake is not None
        loop = asyncio.get_running_loop()
        self._publish(self.source.state)
        next_tick = requests_at = loop.time()
        while not self._stop.is_set():
            now = loop.time()
            requested = self._seek is not None or bool(self._layer_wanted)
            if requested and now >= requests_at:
                requests_at = now + 1.0 / self.fps  # requests are served at most once per frame period
                if self._apply_requests():
                    next_tick = now + 1.0 / (self.fps * self.speed)  # the sought frame is this tick's
            elif now >= next_tick:
                next_tick = max(next_tick + 1.0 / (self.fps * self.speed), now)
                if self.playing and not getattr(self.source, "at_end", False):
                    self._publish(self.source.advance())
            else:
                self._wake.clear()  # set by a command: a request may be due earlier
                try:
                    await asyncio.wait_for(
                        self._wake.wait(), min(next_tick, requests_at if requested else next_tick) - now
                    )
                except TimeoutError:
                    pass
                continue
            await asyncio.sleep(0)  # clients are served between frames, however far behind the source is

    # ------------------------------------------------------------------ clients

    def _command(self, client: Client, msg: dict) -> None:
        cmd = msg["cmd"]
        if cmd == "play":
            self.playing = True
        elif cmd == "pause":
            self.playing = False
        elif cmd == "speed":
            self.speed = float(msg["value"])
        elif cmd == "seek":
            if not self.source.seekable:
                raise CommandError("seek: only a replay can be sought; this is a live world")
            ticks = self.source.ticks
            if msg["tick"] not in ticks:
                raise CommandError(
                    f"seek: tick {msg['tick']} is outside the replay's {ticks.start}..{ticks.stop - 1}"
                )
            self._seek = (msg["tick"], client)  # the source loop applies the last one
        elif cmd == "overlay":
            client.overlay = (
                None if msg["name"] is None else _overlay_key(msg["name"], msg["skill"], msg.get("agent"))
            )
            if client.overlay is not None:
                self._layer_wanted.add(client)
        if self._wake is not None:
            self._wake.set()

    async def _sender(self, client: Client) -> None:
        while True:
            await client.wake.wait()
            client.wake.clear()
            while client.queue:
                frame = client.queue.popleft()
                text = frame_text(frame, client.known, client.overlay)
                await client.ws.send(text)
                client.known = frame.material
                client.sent += 1

    async def _handler(self, ws: ServerConnection) -> None:
        client = Client(ws)
        sock = ws.transport.get_extra_info("socket")
        if sock is not None and self.send_buffer:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.send_buffer)
        self.clients.add(client)
        hello = {"type": "hello", "source": "replay" if self.source.seekable else "live",
                 "overlays": overlay_names(), "skills": [s.name.lower() for s in Skill],
                 "items": ITEM_NAMES, "equip_slots": EQUIP_SLOT_NAMES,
                 "commands": sorted(COMMANDS)}  # fmt: skip
        if self.source.seekable:
            hello["ticks"] = [self.source.ticks.start, self.source.ticks.stop - 1]
        sender = asyncio.ensure_future(self._sender(client))
        loop = asyncio.get_running_loop()
        try:
            await ws.send(json.dumps(hello))
            if self.frame is not None:
                client.push(self.frame)
            async for message in ws:
                if not client.admit(loop.time()):
                    self.refused += 1
                    if client.excess > FLOOD_LIMIT:
                        await ws.close(1008, "rate limit exceeded")
                        break
                    if not client.throttled:
                        client.throttled = True
                        await ws.send(json.dumps({"type": "error", "error": RATE_LIMITED}))
                    continue
                try:
                    self._command(client, parse_command(message))
                except CommandError as err:
                    await ws.send(json.dumps({"type": "error", "error": str(err)}))
        except ConnectionClosed:
            pass
        finally:
            self.clients.discard(client)
            self._layer_wanted.discard(client)
            sender.cancel()

    # ------------------------------------------------------------------ static files

    def _http(self, connection: ServerConnection, request: Request) -> Response | None:
        local = connection.local_address
        address = None if local is None else str(local[0]).removeprefix("::ffff:")  # IPv4 on a dual socket
        refused = self.guard.check(request.headers, address)
        if refused is not None:
            return connection.respond(HTTPStatus.FORBIDDEN, f"forbidden: {refused}\n")
        path = request.path.split("?", 1)[0].split("#", 1)[0]
        if path == "/ws":
            return None  # the websocket handshake
        file = static_file(path)
        if file is None:
            return connection.respond(HTTPStatus.NOT_FOUND, "not found\n")
        body = file.read_bytes()
        kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        if file.suffix == ".js":
            kind = "text/javascript"
        headers = Headers([("Content-Type", kind), ("Content-Length", str(len(body))),
                           ("X-Content-Type-Options", "nosniff"), ("Cache-Control", "no-cache")])  # fmt: skip
        return Response(200, "OK", headers, body)

    # ------------------------------------------------------------------ running

    async def serve_forever(self) -> None:
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        async with serve(self._handler, self.host, self.port, process_request=self._http,
                         max_size=MAX_MESSAGE, max_queue=4) as server:  # fmt: skip
            self.port = self.guard.port = server.sockets[0].getsockname()[1]
            self._ready.set()
            if self.on_ready is not None:
                self.on_ready(self)
            source = asyncio.ensure_future(self._run_source())
            try:
                await self._stop.wait()
            finally:
                source.cancel()
                self._wake = None

    def start_in_thread(self, timeout: float = 30.0) -> ViewerServer:
        """Run in a daemon thread with its own loop; returns once listening (``self.port`` is bound)."""

        def run() -> None:
            try:
                asyncio.run(self.serve_forever())
            except BaseException as err:  # surfaced by start_in_thread
                self._error = err
                self._ready.set()

        self._thread = threading.Thread(target=run, name="neural-mmo-viewer", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError("the viewer server did not start")
        if self._error is not None:
            raise self._error
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
            if self._wake is not None:
                self._loop.call_soon_threadsafe(self._wake.set)
        if self._thread is not None:
            self._thread.join(10)


def static_file(path: str) -> Path | None:
    """The file of ``web/`` a request path names, or None (404) for anything else: ``..`` or ``.``
    segments (plain or percent-encoded), backslashes, NUL, hidden files, missing files, folders."""
    try:
        decoded = unquote(path, errors="strict")
    except UnicodeDecodeError:
        return None
    if not decoded.startswith("/") or "\\" in decoded or "\x00" in decoded:
        return None
    parts = [p for p in decoded.split("/") if p]
    if any(p in (".", "..") or p.startswith(".") for p in parts):
        return None
    if not parts:
        parts = ["index.html"]
    root = WEB.resolve()
    candidate = root.joinpath(*parts).resolve()
    if not candidate.is_relative_to(root) or not candidate.is_file():
        return None
    return candidate
