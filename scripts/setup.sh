#!/usr/bin/env bash
# Create (or update) the local virtual environment .venv with robocritic installed editable.
#   scripts/setup.sh          runtime + every extra (PyBullet, explicit MPC, ONNX export, RL)
#   scripts/setup.sh --test   the same plus the test tools
# Versions come from constraints.txt (torch pinned to the CPU build).
set -euo pipefail
cd "$(dirname "$0")/.."
extras="all"
[[ "${1:-}" == "--test" ]] && extras="all,test"
python="${PYTHON:-python3}"
if [[ ! -x .venv/bin/python ]]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[${extras}]"
echo "robocritic installed in .venv ($(.venv/bin/python -c 'import robocritic; print(robocritic.__version__)'))"
