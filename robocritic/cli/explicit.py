"""``robocritic explicit build|eval``: explicit MPC of your own system and its YANN."""

from __future__ import annotations

import argparse


def _build(args: argparse.Namespace) -> int:
    """Build an explicit law from a YAML spec and print its summary."""
    import json

    from robocritic.yann.tools import build_explicit

    summary = build_explicit(args.spec, args.out, verify_states=args.verify, seed=args.seed)
    print(json.dumps(summary, indent=1))
    return 0


def _eval(args: argparse.Namespace) -> int:
    """Evaluate a stored law (and its YANN) at states and print the summary."""
    import json

    from robocritic.yann.tools import evaluate_explicit

    summary = evaluate_explicit(args.artefact, args.states, args.out, with_yann=not args.no_yann)
    print(json.dumps(summary, indent=1))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``explicit`` and its actions to the top-level subcommands."""
    explicit = sub.add_parser(
        "explicit", help="explicit MPC of your own system (build) and its YANN (eval)",
        description=("Turn a linear MPC given as a YAML spec into an explicit piecewise-affine law "
                     "(PPOPT, extra 'explicit'), and evaluate a stored law and its YANN at states. "
                     "Spec format: see robocritic/yann/spec.py and examples/*.explicit.yaml."),
    )
    explicit_sub = explicit.add_subparsers(dest="explicit_command", required=True, metavar="ACTION")
    build = explicit_sub.add_parser(
        "build", help="YAML spec -> explicit-law artefact (.npz)",
        description=("Reads SPEC (A, B, Q, R, horizon, terminal cost, state/input bounds, x0 domain), "
                     "solves the multi-parametric QP, writes the law to --out and prints the region "
                     "count and its agreement with the online QP (DAQP) on random states. A spec that "
                     "is infeasible, degenerate, too large or badly conditioned is refused, with the "
                     "reason, before the solver runs; two builds of one spec give the same bytes."),
    )
    build.add_argument("spec", help="YAML spec file")
    build.add_argument("--out", default="explicit_law.npz", help="artefact path (default explicit_law.npz)")
    build.add_argument("--verify", type=int, default=1000, help="random states checked against DAQP (default 1000)")
    build.add_argument("--seed", type=int, default=0, help="seed of the verification states")
    build.set_defaults(func=_build)
    ev = explicit_sub.add_parser(
        "eval", help="evaluate a law and its YANN at states",
        description=("Writes u, feasibility, region and margin of the explicit law, and u/feasibility "
                     "of its YANN (5-layer and fast form, float64), at every state of --states "
                     "(.npy, shape (N, n_x), absolute units) into --out (.npz)."),
    )
    ev.add_argument("artefact", help="explicit-law .npz written by 'explicit build'")
    ev.add_argument("--states", required=True, help=".npy array of states, shape (N, n_x)")
    ev.add_argument("--out", default="explicit_eval.npz", help="output .npz (default explicit_eval.npz)")
    ev.add_argument("--no-yann", action="store_true", help="skip the YANN (no torch needed)")
    ev.set_defaults(func=_eval)
