#!/usr/bin/env bash
# The bad-input suite (tests/robustness) with the long hypothesis profile (ten times the default
# examples, still derandomized: the same cases every run), writing the cases per category to
# results/robustness/counts.json (the figures in ROBUSTNESS.md).
#
#   scripts/robustness.sh [pytest options]
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p results/robustness
HYPOTHESIS_PROFILE=long ROBOCRITIC_ROBUSTNESS_REPORT=results/robustness/counts.json \
  .venv/bin/python -m pytest tests/robustness -q -p no:cacheprovider "$@"
cat results/robustness/counts.json
