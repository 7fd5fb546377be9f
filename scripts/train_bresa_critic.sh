#!/usr/bin/env bash
# Rebuild the Bresa critic that ships with the package (robocritic/bresa/assets/press_wipe_critic.npz):
# the data and training recipe of benchmarks/bresa_study.py's first critic (seed 0), ~3 min on 2 cores.
#
#   scripts/train_bresa_critic.sh [WORK_DIR]      (default: runs/bresa_critic)
set -euo pipefail
cd "$(dirname "$0")/.."
work="${1:-runs/bresa_critic}"
mkdir -p "$work"
bin=.venv/bin/robocritic
"$bin" bresa collect --episodes 160 --seed 0 --policy exploration --workers 2 --out "$work/explore.npz"
"$bin" bresa collect --episodes 80 --seed 1000 --policy scripted --workers 2 --out "$work/scripted.npz"
"$bin" bresa train "$work/explore.npz" "$work/scripted.npz" --out "$work/critic.pt" --seed 0 --epochs 10
cp "$work/critic.npz" robocritic/bresa/assets/press_wipe_critic.npz
echo "robocritic/bresa/assets/press_wipe_critic.npz <- $work/critic.npz"
