"""Where numba keeps the compiled kernels: a folder named after a hash of this package's sources.

numba's own cache checks only the timestamp of the file that holds a kernel, not of the kernels
it calls in other files (the tick compiles every system into itself). After an edit to a system,
a stale tick would run the old rules. Keying the cache folder by the sources makes any edit, or
any upgrade, start from a fresh folder. ``NUMBA_CACHE_DIR`` still chooses the parent folder.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


def sources_digest(package: Path) -> str:
    """A short hash of every ``.py`` file of the package (names and bytes)."""
    h = hashlib.sha1()
    for path in sorted(package.rglob("*.py")):
        h.update(str(path.relative_to(package)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:12]


def configure_kernel_cache() -> Path | None:
    """Point numba's cache at ``<base>/neural_mmo-<digest>``; None if no folder is writable
    (numba then compiles in memory)."""
    import numba

    package = Path(__file__).resolve().parent
    base = os.environ.get("NUMBA_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "neural_mmo"
    )
    for root in (Path(base), Path(tempfile.gettempdir()) / "neural_mmo"):
        folder = root / f"kernels-{sources_digest(package)}"
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(folder, os.W_OK):
            numba.config.CACHE_DIR = str(folder)  # type: ignore[attr-defined]
            return folder
    return None
