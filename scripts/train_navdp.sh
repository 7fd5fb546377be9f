#!/usr/bin/env bash
# Rebuild the small NavDP model that ships with the package (robocritic/navdp/assets/navdp_small.pt):
# shards of 160 training worlds (0-159) and 20 held-out worlds (1000-1019), a CPU training run
# with one torch thread, the model-only export, and the offline sanity numbers on the held-out
# worlds (docs/navdp.md). Every step is deterministic; a killed run resumes where it stopped
# when the script is run again. About 15 min on 2 busy cores.
#
#   scripts/train_navdp.sh [WORK_DIR]      (default: runs/navdp_small)
set -euo pipefail
cd "$(dirname "$0")/.."
work="${1:-runs/navdp_small}"
mkdir -p "$work"
bin=.venv/bin/robocritic
"$bin" navdp generate --worlds 0-159 --out "$work/data" --workers 2
"$bin" navdp generate --worlds 1000-1019 --out "$work/heldout" --workers 2
"$bin" navdp train "$work/data" --out "$work/run" --steps 3000 --batch 16 --lr 1e-3 --seed 0 \
  --config decay_steps=3000 val_every=500 checkpoint_every=250
"$bin" navdp export "$work/run" --out robocritic/navdp/assets/navdp_small.pt
"$bin" navdp check robocritic/navdp/assets/navdp_small.pt "$work/heldout" --samples 300 | tee "$work/check.json"
echo "robocritic/navdp/assets/navdp_small.pt <- $work/run"
