#!/usr/bin/env bash
# Rebuild the small NavDP model that ships with the package (robocritic/navdp/assets/navdp_small.pt):
# shards of 400 training worlds (0-399) and 20 held-out worlds (1000-1019), a CPU training run of
# 8000 steps with two torch threads, the model-only export, and the offline sanity numbers on the
# held-out worlds (docs/navdp.md). Every step is seeded; a killed run resumes where it stopped when
# the script is run again. About 25 min on 2 cores (under a minute of data generation, ~24 min of
# training at ~5.7 steps/s, a minute for the check).
#
#   scripts/train_navdp.sh [WORK_DIR]      (default: runs/navdp_small)
set -euo pipefail
cd "$(dirname "$0")/.."
work="${1:-runs/navdp_small}"
mkdir -p "$work"
bin=.venv/bin/robocritic
"$bin" navdp generate --worlds 0-399 --out "$work/data" --workers 2
"$bin" navdp generate --worlds 1000-1019 --out "$work/heldout" --workers 2
"$bin" navdp train "$work/data" --out "$work/run" --steps 8000 --batch 16 --lr 1e-3 --seed 0 --threads 2 \
  --config decay_steps=8000 val_every=1000 checkpoint_every=500
"$bin" navdp export "$work/run" --out robocritic/navdp/assets/navdp_small.pt
"$bin" navdp check robocritic/navdp/assets/navdp_small.pt "$work/heldout" --samples 300 | tee "$work/check.json"
echo "robocritic/navdp/assets/navdp_small.pt <- $work/run"
