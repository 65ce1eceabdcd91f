#!/usr/bin/env bash
# Build the two peer virtual environments, each on its own, outside the project tree:
#
#   $NMMO_PEERS_HOME/nmmo21   Neural MMO 2.1.1 (nmmo==2.1.1 from PyPI)
#   $NMMO_PEERS_HOME/puffer   PufferLib 2.0.2 wheel (its compiled NMMO3 module)
#
# NMMO_PEERS_HOME defaults to ~/.cache/neural_mmo_peers. Idempotent: a venv that already imports
# the pinned versions is left as it is; pass --force to rebuild both from scratch.
# PYTHON picks the interpreter (default: python3.11, else python3); it must be CPython 3.11,
# the newest Python that numpy 1.23.3 has wheels for.
set -euo pipefail

HOME_DIR="${NMMO_PEERS_HOME:-$HOME/.cache/neural_mmo_peers}"
FORCE=0
[[ "${1:-}" == "--force" ]] && FORCE=1

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
mkdir -p "$HOME_DIR"
HOME_DIR="$(cd "$HOME_DIR" && pwd)"
case "$HOME_DIR/" in
  "$REPO_ROOT"/*) echo "refusing: NMMO_PEERS_HOME ($HOME_DIR) is inside the project tree" >&2; exit 2 ;;
esac

PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
PYVER="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
if [[ "$PYVER" != "3.11" ]]; then
  echo "need CPython 3.11 for numpy==1.23.3 (got $PYVER from $PYTHON); set PYTHON=..." >&2
  exit 2
fi

# pip 23.2.1 (the one Python 3.11.7 bundles): with setuptools and wheel present and
# --no-build-isolation it builds vec-noise's sdist through its legacy `setup.py bdist_wheel` path.
# Newer pips go through setuptools' PEP 517 backend, where vec-noise's setup.py dies with
# "AttributeError: 'dict' object has no attribute '__NUMPY_SETUP__'".
PIP_PIN="pip==23.2.1"
NUMPY_PIN="numpy==1.23.3"

pip_in() {  # pip_in VENV ARGS...: quiet pip, without the noise of unreachable extra indexes
  local venv="$1" log status=0; shift
  log="$(mktemp)"
  "$venv/bin/python" -m pip install --disable-pip-version-check -q "$@" >"$log" 2>&1 || status=$?
  grep -v "^WARNING: Location .* is ignored" "$log" >&2 || true
  rm -f "$log"
  return "$status"
}

fresh_venv() {
  local venv="$1"
  rm -rf "$venv"
  "$PYTHON" -m venv "$venv"
  pip_in "$venv" "$PIP_PIN"
}

# ---------------------------------------------------------------- Neural MMO 2.1.1
NMMO21="$HOME_DIR/nmmo21"
nmmo21_ok() {
  [[ -x "$NMMO21/bin/python" ]] && "$NMMO21/bin/python" - <<'EOF' 2>/dev/null
import importlib.metadata as md
import numpy
import nmmo  # noqa: F401
assert md.version("nmmo") == "2.1.1", md.version("nmmo")
assert md.version("vec-noise") == "1.1.4", md.version("vec-noise")
assert numpy.__version__ == "1.23.3", numpy.__version__
EOF
}
if [[ $FORCE == 0 ]] && nmmo21_ok; then
  echo "nmmo21: ready at $NMMO21"
else
  echo "nmmo21: building $NMMO21"
  fresh_venv "$NMMO21"
  pip_in "$NMMO21" "$NUMPY_PIN" setuptools==65.5.0 wheel==0.48.0
  pip_in "$NMMO21" --no-build-isolation vec-noise==1.1.4
  pip_in "$NMMO21" nmmo==2.1.1 "$NUMPY_PIN"
  nmmo21_ok || { echo "nmmo21: build finished but nmmo 2.1.1 does not import" >&2; exit 1; }
  echo "nmmo21: ready at $NMMO21"
fi

# ---------------------------------------------------------------- PufferLib 2.0.2 (NMMO3)
# --no-deps: only numpy is needed. measure_nmmo3.py loads the compiled cy_nmmo3 extension by its
# file path, because importing it as pufferlib.ocean.nmmo3.cy_nmmo3 runs pufferlib/__init__.py
# (gym, gymnasium, ...) and pufferlib/ocean/__init__.py, which imports .nmmo3.nmmo3, a Python
# wrapper that the 2.0.2 wheel (and sdist) do not contain.
PUFFER="$HOME_DIR/puffer"
puffer_ok() {
  [[ -x "$PUFFER/bin/python" ]] && "$PUFFER/bin/python" - <<'EOF' 2>/dev/null
import importlib.metadata as md
import numpy
assert md.version("pufferlib") == "2.0.2", md.version("pufferlib")
assert numpy.__version__ == "1.23.3", numpy.__version__
files = [str(f) for f in md.files("pufferlib") if "cy_nmmo3" in str(f) and str(f).endswith(".so")]
assert files, "no compiled cy_nmmo3 in the wheel"
EOF
}
if [[ $FORCE == 0 ]] && puffer_ok; then
  echo "puffer: ready at $PUFFER"
else
  echo "puffer: building $PUFFER"
  fresh_venv "$PUFFER"
  pip_in "$PUFFER" "$NUMPY_PIN"
  pip_in "$PUFFER" --no-deps pufferlib==2.0.2
  puffer_ok || { echo "puffer: build finished but pufferlib 2.0.2's cy_nmmo3 is missing" >&2; exit 1; }
  echo "puffer: ready at $PUFFER"
fi
