"""Figures of the research tools (matplotlib, imported when a figure is drawn)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from neural_mmo.research.tournament import TournamentResult


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_tournament(result: TournamentResult, path: str | Path) -> Path:
    """Mean lifetime with its 95% interval per entrant, and the pairwise win rates."""
    plt = _pyplot()
    names = result.names()
    means = [e.lifetime_mean for e in result.entrants]
    cis = [0.0 if not np.isfinite(e.lifetime_ci95) else e.lifetime_ci95 for e in result.entrants]
    fig, (left, right) = plt.subplots(1, 2, figsize=(4 + 1.4 * len(names), 3.6))
    left.bar(range(len(names)), means, yerr=cis, capsize=4, color="#4c72b0")
    labels = [f"{e.name}\nrating {e.rating:.1f}" for e in result.entrants]
    left.set_xticks(range(len(names)), labels, rotation=30, ha="right", fontsize=8)
    left.set_ylabel("mean lifetime (ticks)")
    left.set_title(f"{result.matches} matches (95% intervals)")
    image = right.imshow(result.win_rate, vmin=0, vmax=1, cmap="RdBu")
    right.set_xticks(range(len(names)), names, rotation=30, ha="right")
    right.set_yticks(range(len(names)), names)
    right.set_title("win rate (row vs column)")
    for a in range(len(names)):
        for b in range(len(names)):
            if a != b and np.isfinite(result.win_rate[a, b]):
                right.text(b, a, f"{result.win_rate[a, b]:.2f}", ha="center", va="center", fontsize=8)
    fig.colorbar(image, ax=right, fraction=0.046)
    fig.tight_layout()
    return _save(fig, path)


def plot_dependency(values: np.ndarray, path: str | Path, title: str = "") -> Path:
    """One panel per population pair ``[a, b]``: the value change of a centre agent of population
    ``a`` with an agent of population ``b`` at each tile of its crop."""
    plt = _pyplot()
    P = values.shape[0]
    finite = values[np.isfinite(values)]
    bound = float(np.abs(finite).max()) if finite.size else 1.0
    bound = bound or 1.0
    fig, axes = plt.subplots(P, P, figsize=(2.2 * P + 1, 2.2 * P), squeeze=False)
    image = None
    for a in range(P):
        for b in range(P):
            ax = axes[a, b]
            image = ax.imshow(np.ma.masked_invalid(values[a, b]), cmap="RdBu", vmin=-bound, vmax=bound)
            R = values.shape[-1] // 2
            ax.plot([R], [R], marker="o", color="black", markersize=4)
            ax.set_xticks([])
            ax.set_yticks([])
            if P > 1:
                ax.set_title(f"pop {a}, other pop {b}", fontsize=8)
    fig.colorbar(image, ax=axes, fraction=0.046, label="value change")
    if title:
        fig.suptitle(title, fontsize=9)
    return _save(fig, path)


def plot_bars(labels: list[str], series: dict[str, list[float]], path: str | Path, title: str = "",
              errors: dict[str, list[float]] | None = None) -> Path:  # fmt: skip
    """One panel per series: a bar per label (experiment arms)."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(series), figsize=(1.2 + 2.6 * len(series), 3.2), squeeze=False)
    for ax, (name, values) in zip(axes[0], series.items()):
        err = (errors or {}).get(name)
        ax.bar(range(len(labels)), values, yerr=err, capsize=3 if err else 0, color="#55a868")
        ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right", fontsize=8)
        ax.set_title(name, fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def image_grid(images: list[np.ndarray], labels: list[str], path: str | Path, title: str = "") -> Path:
    """Pictures side by side with a label each (maps of several experiment arms)."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(images), figsize=(3 * len(images), 3.3), squeeze=False)
    for ax, image, label in zip(axes[0], images, labels):
        ax.imshow(image, interpolation="nearest")
        ax.set_title(label, fontsize=9)
        ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def _save(fig: Any, path: str | Path) -> Path:
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
