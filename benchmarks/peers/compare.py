"""Our VecEnv against Neural MMO 2.1.1 and PufferLib's NMMO3, measured alternately in one run.

    bash benchmarks/peers/setup_peers.sh               # once: builds the peer venvs
    .venv/bin/python benchmarks/peers/compare.py [--rounds 5] [--cpu 0] [--json-out FILE]

Each round runs every comparison as peer then us (peer, us, peer, us, ...), so slow drift of the
machine hits both sides alike. A peer run is a fresh subprocess in its own venv
(``measure_nmmo21.py`` / ``measure_nmmo3.py``, one JSON line each); ours runs in this process
through ``neural_mmo.bench.bench_vecenv`` exactly as ``neural-mmo bench`` does (policy "random",
``BENCH_OVERRIDES``: concurrent spawning, immortal agents), one fresh VecEnv per round. Every
figure is agent-steps/s = living agents x ticks / time inside step, actions drawn outside the
clock; the table gives medians over rounds, us/peer as the ratio of the medians, and the median
and range of the per-round ratios (each round's us over that round's peer run).

The whole process tree is pinned to one CPU (``--cpu``, via ``sched_setaffinity``, inherited by
the peer subprocesses); BLAS/OpenMP pools are held to one thread.
"""

from __future__ import annotations

import argparse
import atexit
import datetime
import io
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
DEFAULT_HOME = Path(os.environ.get("NMMO_PEERS_HOME", Path.home() / ".cache" / "neural_mmo_peers"))
ECONOMY = {"item.enabled": True, "profession.enabled": True, "exchange.enabled": True}
"""Our economy's switches (NMMO3 always has its items and market)."""
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@dataclass
class Comparison:
    name: str
    venv: str
    script: str
    peer_args: list[str]
    peer_ticks: int
    ours_overrides: dict[str, Any]
    ours_label: str
    peer_runs: list[dict[str, Any]] = field(default_factory=list)
    ours_runs: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def comparisons(args: argparse.Namespace) -> list[Comparison]:
    medium = "medium preset (128 agents, 128 NPCs, map 128)"
    found = [
        Comparison(
            "nmmo21_default", "nmmo21", "measure_nmmo21.py", [], args.nmmo21_ticks, {},
            medium,
        ),
        Comparison(
            "nmmo21_immortal", "nmmo21", "measure_nmmo21.py", ["--immortal"], args.nmmo21_ticks, {},
            medium,
        ),
        Comparison(
            "nmmo3_128_on_256", "puffer", "measure_nmmo3.py", ["--setting", "a128_m256"], args.nmmo3_ticks,
            {"spawn.n_agents": 128, "map.size": 256, "npc.n_npcs": 128},
            "medium + 128 agents, map 256, 128 NPCs",
        ),
        Comparison(
            "nmmo3_128_on_256_economy", "puffer", "measure_nmmo3.py", ["--setting", "a128_m256"],
            args.nmmo3_ticks, {"spawn.n_agents": 128, "map.size": 256, "npc.n_npcs": 128, **ECONOMY},
            "medium + 128 agents, map 256, 128 NPCs, items, professions and the exchange on",
        ),
        Comparison(
            "nmmo3_default_1024_on_512", "puffer", "measure_nmmo3.py", ["--setting", "default"],
            args.nmmo3_ticks, {"spawn.n_agents": 1024, "map.size": 512, "npc.n_npcs": 1024},
            "medium + 1024 agents, map 512, 1024 NPCs",
        ),
    ]  # fmt: skip
    return [c for c in found if not args.only or c.name in args.only]


def run_peer(home: Path, venv: str, script: str, extra: list[str], timeout: float) -> dict[str, Any]:
    """One peer measurement: its JSON line, or ``{"error": ...}`` with the failure's text."""
    python = home / venv / "bin" / "python"
    if not python.exists():
        return {"error": f"{python} missing: run benchmarks/peers/setup_peers.sh"}
    workdir = home / "work" / venv
    workdir.mkdir(parents=True, exist_ok=True)
    cmd = [str(python), str(HERE / script), *extra]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "LD_PRELOAD")}
    env.update(ONE_THREAD)
    try:
        done = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f}s: {' '.join(cmd)}"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = (done.stderr or done.stdout).strip().splitlines()[-15:]
        return {"error": f"exit {done.returncode}: {' '.join(cmd)}\n" + "\n".join(tail)}
    result = json.loads(lines[-1])
    result["command"] = " ".join(cmd)
    return result


def run_ours(overrides: dict[str, Any], ticks: int, seed: int) -> dict[str, Any]:
    from neural_mmo.bench import BENCH_OVERRIDES, bench_vecenv
    from neural_mmo.config import Config

    config = Config.preset("medium").override(BENCH_OVERRIDES).override(overrides)
    result = bench_vecenv(config, ticks, 1, seed=seed, policy="random")
    return {
        "agent_steps_per_s": result["agent_steps_per_s"],
        "agents": result["agents"],
        "npcs": config.npc.n_npcs,
        "map": config.map.size,
        "ticks": ticks,
        "seed": seed,
    }


def fmt(x: float) -> str:
    return f"{x:,.0f}"


def peer_setting(c: Comparison) -> str:
    r = next((r for r in c.peer_runs if "error" not in r), None)
    if r is None:
        return c.name
    if r["peer"] == "nmmo":
        return (
            f"nmmo {r['version']} {r['config']}: {r['agents_configured']} agents, "
            f"{r['npcs_configured']} NPCs, map {r['map_playable']}"
        )
    return (
        f"pufferlib {r['version']} NMMO3 `{r['setting']}`: {r['players']} agents, "
        f"{r['enemies']} enemies, map {r['map']}"
    )


def summarize(c: Comparison) -> dict[str, Any]:
    peer = [r["agent_steps_per_s"] for r in c.peer_runs if "error" not in r]
    ours = [r["agent_steps_per_s"] for r in c.ours_runs]
    paired = [
        o["agent_steps_per_s"] / p["agent_steps_per_s"]
        for p, o in zip(c.peer_runs, c.ours_runs)
        if "error" not in p and p["agent_steps_per_s"] > 0
    ]
    out: dict[str, Any] = {
        "name": c.name,
        "peer_setting": peer_setting(c),
        "ours_setting": c.ours_label,
        "ours_overrides": c.ours_overrides,
        "peer_runs": [round(x, 1) for x in peer],
        "ours_runs": [round(x) for x in ours],
        "errors": c.errors,
    }
    if peer and ours:
        pm, om = statistics.median(peer), statistics.median(ours)
        out.update(
            peer_median=round(pm, 1),
            ours_median=round(om),
            ratio_us_over_peer=round(om / pm, 2) if pm > 0 else None,
            paired_ratio_median=round(statistics.median(paired), 2) if paired else None,
            paired_ratio_min=round(min(paired), 2) if paired else None,
            paired_ratio_max=round(max(paired), 2) if paired else None,
            peer_evidence_last=next(
                (
                    {k: r.get(k) for k in ("advanced", "mean_alive", "quarter_agent_steps_per_s", "evidence")}
                    for r in reversed(c.peer_runs)
                    if "error" not in r
                ),
                None,
            ),
            peer_all_advanced=all(r.get("advanced") for r in c.peer_runs if "error" not in r),
            peer_mean_alive=[round(r["mean_alive"], 1) for r in c.peer_runs if "error" not in r],
        )
    return out


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def export_revision(rev: str) -> Path:
    """``neural_mmo/`` as committed at ``rev``, exported (``git archive``, read-only on the repo) to a
    temporary folder that is put first on ``sys.path``, so ours is measured without the working
    tree's uncommitted edits."""
    target = Path(tempfile.mkdtemp(prefix="neural_mmo_rev_"))
    atexit.register(shutil.rmtree, target, ignore_errors=True)
    archive = subprocess.run(
        ["git", "archive", "--format=tar", rev, "neural_mmo"], cwd=REPO, capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    sys.path.insert(0, str(target))
    return target


def our_revision(rev: str | None) -> str:
    """The commit our numbers come from, and whether the package had uncommitted edits."""
    if rev is not None:
        try:
            head = subprocess.run(
                ["git", "rev-parse", "--short", rev], cwd=REPO, capture_output=True, text=True, check=True
            ).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return f"{rev} (unresolved)"
        return f"{head} as committed ({rev})"
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "neural_mmo"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head}{' + uncommitted edits in neural_mmo/' if dirty else ''}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds (default 5)")
    parser.add_argument("--cpu", type=int, default=0, help="CPU to pin everything to; -1: do not pin")
    parser.add_argument("--peers-home", type=Path, default=DEFAULT_HOME, help="where setup_peers.sh built")
    parser.add_argument("--ours-ticks", type=int, default=1000, help="timed ticks per run of ours (1000)")
    parser.add_argument("--nmmo21-ticks", type=int, default=300, help="timed ticks per nmmo 2.1.1 run (300)")
    parser.add_argument("--nmmo3-ticks", type=int, default=1000, help="timed ticks per NMMO3 run (1000)")
    parser.add_argument("--only", nargs="+", help="run only these comparisons (by name)")
    parser.add_argument("--skip-collision-check", action="store_true", help="skip the no-LD_PRELOAD demo")
    parser.add_argument("--timeout", type=float, default=900, help="seconds allowed per peer run")
    parser.add_argument("--json-out", type=Path, help="also write the JSON result here")
    parser.add_argument(
        "--ours-rev", help="measure neural_mmo as committed at this git revision (default: working tree)"
    )
    args = parser.parse_args()

    os.environ.update(ONE_THREAD)
    pinned = None
    if args.cpu >= 0 and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.cpu})
        pinned = sorted(os.sched_getaffinity(0))
    home = args.peers_home.expanduser().resolve()
    if home == REPO or REPO in home.parents:
        sys.exit(f"--peers-home {home} is inside the project tree; use a path outside it")

    if args.ours_rev:
        export_revision(args.ours_rev)
    import neural_mmo

    revision = our_revision(args.ours_rev)
    started = datetime.datetime.now(datetime.UTC)
    header = (
        f"{started:%Y-%m-%d %H:%M} UTC, {cpu_model()}, {os.cpu_count()} cores, "
        f"pinned to CPU {pinned if pinned is not None else 'none (not pinned)'}, "
        f"Python {platform.python_version()} (ours), ours at {revision}, {args.rounds} rounds"
    )
    print(header, flush=True)
    print(f"ours imported from {Path(neural_mmo.__file__).parent}", flush=True)

    collision = None
    chosen = comparisons(args)
    if not args.skip_collision_check and any(c.venv == "puffer" for c in chosen):
        collision = run_peer(
            home,
            "puffer",
            "measure_nmmo3.py",
            ["--setting", "a128_m256", "--ticks", "50", "--no-preload"],
            args.timeout,
        )
        print(f"collision check (NMMO3 without LD_PRELOAD): {json.dumps(collision)}", flush=True)

    for r in range(args.rounds):
        for c in chosen:
            peer = run_peer(
                home,
                c.venv,
                c.script,
                [*c.peer_args, "--ticks", str(c.peer_ticks), "--seed", str(r)],
                args.timeout,
            )
            c.peer_runs.append(peer)
            if "error" in peer:
                c.errors.append(peer["error"])
                print(f"round {r} {c.name} peer FAILED: {peer['error']}", flush=True)
            ours = run_ours(c.ours_overrides, args.ours_ticks, seed=r)
            c.ours_runs.append(ours)
            peer_rate = peer.get("agent_steps_per_s", float("nan"))
            alive = peer.get("mean_alive", float("nan"))
            print(
                f"round {r} {c.name}: peer {fmt(peer_rate)} (advanced={peer.get('advanced')}, "
                f"mean alive {alive:.1f}), ours {fmt(ours['agent_steps_per_s'])}",
                flush=True,
            )

    summaries = [summarize(c) for c in chosen]
    print()
    print(header)
    print()
    print(
        "| comparison | peer setting | peer median agent-steps/s | our setting "
        "| our median agent-steps/s | us/peer | per-round us/peer: median (range) |"
    )
    print("|---|---|---:|---|---:|---:|---:|")
    for s in summaries:
        if "peer_median" not in s:
            print(f"| {s['name']} | {s['peer_setting']} | failed | {s['ours_setting']} | | | |")
            continue
        print(
            f"| {s['name']} | {s['peer_setting']} | {fmt(s['peer_median'])} | {s['ours_setting']} "
            f"| {fmt(s['ours_median'])} | {s['ratio_us_over_peer']:,}x "
            f"| {s['paired_ratio_median']:,}x ({s['paired_ratio_min']:,}-{s['paired_ratio_max']:,}) |"
        )
    print()
    for s in summaries:
        if "peer_median" in s:
            print(
                f"{s['name']}: peer advanced every run: {s['peer_all_advanced']}; peer mean alive per run "
                f"{s['peer_mean_alive']}; last peer run evidence {json.dumps(s['peer_evidence_last'])}"
            )
        for e in s["errors"]:
            print(f"{s['name']}: ERROR {e}")

    result = {
        "date_utc": started.isoformat(timespec="seconds"),
        "machine": {
            "cpu": cpu_model(),
            "cores": os.cpu_count(),
            "pinned_cpus": pinned,
            "platform": platform.platform(),
        },
        "python_ours": platform.python_version(),
        "ours_revision": revision,
        "ours_package": str(Path(neural_mmo.__file__).parent),
        "command": " ".join([sys.executable, *sys.argv]),
        "rounds": args.rounds,
        "ticks": {"ours": args.ours_ticks, "nmmo21": args.nmmo21_ticks, "nmmo3": args.nmmo3_ticks},
        "collision_check": collision,
        "comparisons": summaries,
    }
    if args.json_out:
        args.json_out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
