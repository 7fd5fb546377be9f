#!/usr/bin/env bash
# One DAgger round on top of a NavDP model (default: the shipped robocritic/navdp/assets/navdp_small.pt),
# docs/navdp.md "The robot's own states (DAgger)": the model's own candidates at every 5th sample of
# the generated shards of training worlds 0-399; the model's planner rolled out in closed loop in
# training worlds 20000-20099 (2 paired episodes each), its states labelled by the privileged expert,
# with its own candidates; 1000 fine-tuning steps from the model on the generated and the rollout
# shards (policy and critic); the export to WORK_DIR/dagger.pt (this script does not touch the shipped
# file; scripts/train_navdp.sh runs it on its base model and ships the result). Every step is seeded;
# a killed run resumes when the script is run again. About 1 h on 2 cores shared with other processes.
#
#   scripts/train_navdp_dagger.sh [WORK_DIR] [BASE_MODEL]   (default: runs/navdp_dagger, the shipped model)
#
# (The rollout folder is named closed_loop so that its shards sort before data/'s: the validation
# split is drawn over the shards sorted by full path, as in the measured run.)
# RANK=0.5 adds the pairwise ranking loss on the candidates (candidate_rank_weight).
set -euo pipefail
cd "$(dirname "$0")/.."
work="${1:-runs/navdp_dagger}"
base="${2:-robocritic/navdp/assets/navdp_small.pt}"
rank="${RANK:-0}"
mkdir -p "$work"
bin=.venv/bin/robocritic
"$bin" navdp generate --worlds 0-399 --out "$work/data" --workers 2
"$bin" navdp candidates "$work/data" --model "$base" --out "$work/candidates" --stride 5
"$bin" navdp rollouts --model "$base" --worlds 20000-20099 --out "$work/closed_loop" --workers 2
"$bin" navdp train "$work/data" "$work/closed_loop" --out "$work/dagger_run" --init "$base" \
  --candidates "$work/candidates" "$work/closed_loop" --steps 1000 --batch 16 --lr 3e-4 --seed 0 --threads 1 \
  --config decay_steps=1500 val_every=1000 candidate_batch=8 candidate_weight=0.5 candidate_rank_weight="$rank"
"$bin" navdp export "$work/dagger_run" --out "$work/dagger.pt"
echo "$work/dagger.pt <- $work/dagger_run (base $base)"
