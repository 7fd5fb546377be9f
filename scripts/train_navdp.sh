#!/usr/bin/env bash
# Rebuild the small NavDP model that ships with the package (robocritic/navdp/assets/navdp_small.pt).
#
# Stage 1, the base model: shards of 400 training worlds (0-399) and 20 held-out worlds (1000-1019),
# a CPU training run of 8000 steps with two torch threads, the model-only export to WORK_DIR/base.pt,
# and the offline sanity numbers on the held-out worlds (docs/navdp.md). About 25 min on 2 cores.
# (The model shipped before the DAgger round is this base model, SHA-256 c0da2489...)
#
# Stage 2, one DAgger round (scripts/train_navdp_dagger.sh; docs/navdp.md "The robot's own states"):
# the base planner rolled out in closed loop in training worlds 20000-20099, its states labelled by
# the privileged expert, its own candidates; 1000 fine-tuning steps from the base model on the
# generated and the rollout shards; exported to WORK_DIR/dagger.pt and shipped. About 1 h more.
#
# Every step is seeded; a killed run resumes where it stopped when the script is run again.
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
"$bin" navdp export "$work/run" --out "$work/base.pt"
"$bin" navdp check "$work/base.pt" "$work/heldout" --samples 300 | tee "$work/check.json"
scripts/train_navdp_dagger.sh "$work" "$work/base.pt"
"$bin" navdp check "$work/dagger.pt" "$work/heldout" --samples 300 | tee "$work/check_dagger.json"
cp "$work/dagger.pt" robocritic/navdp/assets/navdp_small.pt
echo "robocritic/navdp/assets/navdp_small.pt <- $work/dagger.pt"
