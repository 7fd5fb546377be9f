"""``robocritic bresa collect|train|eval|export``: the Bresa safety critic on a press-and-wipe arm
(``--env``: the planar ``robocritic/ArmPressWipe-v0`` by default, its ``-v1`` with a longer approach
window, ``robocritic/Arm7PressWipe-v0``, peg-in-hole or groove following)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from robocritic.cli.options import count, in_file, number, out_dir, out_file, seed, seed_ranges

DEFAULT_ENV = "robocritic/ArmPressWipe-v0"
ENVS = ("robocritic/ArmPressWipe-v0", "robocritic/ArmPressWipe-v1", "robocritic/ArmPressWipeBullet-v0",
        "robocritic/Arm7PressWipe-v0", "robocritic/Arm7PressWipe-v1", "robocritic/ArmPegInHole-v0",
        "robocritic/ArmGroove-v0")
"""The press-and-wipe envs ``--env`` accepts (those with a task geometry for the policies)."""


def _collect(args: argparse.Namespace) -> int:
    import robocritic.envs  # noqa: F401 - registers the env ids
    from robocritic.bresa.collect import collect, save_dataset

    ds = collect(args.episodes, seed=args.seed, policy=args.policy, workers=args.workers, jitter=args.jitter,
                 env_id=args.env)
    save_dataset(ds, args.out)
    print(f"{args.out}: {ds.n_episodes} episodes, {ds.cost.size} ticks, "
          f"{int(ds.cost.sum())} over the force limit")
    return 0


def _train(args: argparse.Namespace) -> int:
    from robocritic.bresa.collect import concat_datasets, load_dataset
    from robocritic.bresa.critic import save_critic
    from robocritic.bresa.export import export_critic
    from robocritic.bresa.train import train_critic
    from robocritic.utils.atomic import atomic_write_json

    data = concat_datasets([load_dataset(p) for p in args.data])
    critic, history = train_critic(data, horizon_ms=args.horizon_ms, hidden=tuple(args.hidden),
                                   epochs=args.epochs, seed=args.seed, batch_size=args.batch_size)
    out = Path(args.out)
    save_critic(critic, out)
    export_critic(critic, data.feature_names, out.with_suffix(".npz"))
    atomic_write_json(out.with_suffix(".history.json"), {
        "train_loss": history.train_loss, "val_loss": history.val_loss, "base_rate_val": history.base_rate_val,
        "horizon_steps": history.horizon_steps, "data": [str(p) for p in args.data], "seed": args.seed,
        "feature_names": list(data.feature_names)})
    print(f"{out} (+ .json sidecar, .npz torch-free export): held-out BCE {history.val_loss[-1]:.4f} "
          f"vs {history.base_rate_val:.4f} for the constant base rate")
    return 0


def _plot_choice(text: str) -> int | str:
    """``--plot``: 'first', 'worst' or a seed (checked against ``--seeds`` by ``evaluate``)."""
    return text if text in ("first", "worst") else seed(text)


def _eval(args: argparse.Namespace) -> int:
    from robocritic.jobs.bresa_eval import evaluate, parse_seeds

    policy_kwargs = {} if args.approach_speed is None else {"approach_speed": args.approach_speed}
    summary = evaluate([m.strip() for m in args.methods.split(",")], parse_seeds(args.seeds), args.out,
                       critic_path=args.critic, workers=args.workers, policy_kwargs=policy_kwargs, env_id=args.env,
                       plot=args.plot)
    print(f"{'method':<14} {'over limit':>10} {'95% CI':>14} {'success':>8} {'peak N (med/max)':>17} "
          f"{'interv./s':>9}")
    for name, r in summary["methods"].items():
        lo, hi = r["violation_ci95"]
        print(f"{name:<14} {r['violations']:>4}/{r['episodes']:<5} [{lo:.2f}, {hi:.2f}] "
              f"{r['success']:>4}/{r['episodes']:<3} {r['peak_force_filtered_median']:>7.1f}/"
              f"{r['peak_force_filtered_max']:<7.1f} {r['interventions_per_second_mean']:>9.2f}")
    print(f"per-episode and summary JSON, violations.png and force.png in {args.out}")
    return 0


def export_feature_names(critic_path: Path, n_in: int, env_id: str | None) -> tuple[str, ...]:
    """The critic's input names: the layout of ``env_id`` if given, else the names ``bresa train``
    recorded in the ``.history.json`` beside the critic, else the layout whose size is ``n_in``
    (``n_in = 6 m + 4``). Raises ValueError when they disagree with ``n_in`` or none fits."""
    from robocritic.bresa.features import FeatureLayout
    from robocritic.jobs.bresa_eval import layout_for_env

    if env_id is not None:
        layout = layout_for_env(env_id)
        names = layout.state_names() + layout.action_names()
        where = f"--env {env_id}"
    else:
        history = critic_path.with_suffix(".history.json")
        recorded = json.loads(history.read_text()).get("feature_names") if history.is_file() else None
        if recorded:
            names, where = tuple(str(n) for n in recorded), str(history)
        else:
            m, rest = divmod(n_in - 4, 6)
            if rest or m not in (2, 3):
                raise ValueError(f"critic: {n_in} inputs fit no press-and-wipe layout (6 m + 4, m = 2 or 3); "
                                 "give --env")
            layout = FeatureLayout(m=m, axes=("x", "z") if m == 2 else ("x", "y", "z"))
            names, where = layout.state_names() + layout.action_names(), f"the input size (m = {m})"
    if len(names) != n_in:
        raise ValueError(f"critic: {critic_path} takes {n_in} inputs but {where} gives {len(names)} features")
    return tuple(names)


def _export(args: argparse.Namespace) -> int:
    from robocritic.bresa.critic import load_critic
    from robocritic.bresa.export import export_critic

    critic = load_critic(args.critic)
    names = export_feature_names(Path(args.critic), critic.n_in, args.env)
    out = export_critic(critic, names, args.out or Path(args.critic).with_suffix(".npz"))
    print(json.dumps({"exported": str(out), "inputs": critic.n_in}))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``bresa collect|train|eval|export`` to the top-level subcommands."""
    bresa = sub.add_parser("bresa", help="Bresa: 1 kHz learned safety critic on the press-and-wipe arm",
                           description="Collect critic data, train the critic, evaluate safety methods, "
                                       "export the critic for the 1 kHz loop.")
    cmds = bresa.add_subparsers(dest="bresa_command", required=True, metavar="SUBCOMMAND")

    col = cmds.add_parser("collect", help="unfiltered episodes with perturbations -> a .npz data set")
    col.add_argument("--episodes", type=count(1, 10**6), default=160)
    col.add_argument("--seed", type=seed, default=0, help="episode i uses seed SEED + i")
    col.add_argument("--policy", choices=("exploration", "scripted"), default="exploration")
    col.add_argument("--workers", type=count(1, 1024), default=1, help="processes (the data do not depend on it)")
    col.add_argument("--jitter", type=number(0.0, 1.0), default=0.01,
                     help="per-tick chance that a 5-40 ms command perturbation starts (0: none)")
    col.add_argument("--env", choices=ENVS, default=DEFAULT_ENV, help="the task env")
    col.add_argument("--out", type=out_file, required=True, help="output .npz")
    col.set_defaults(func=_collect)

    tr = cmds.add_parser("train", help="fit the critic (BCE on 'violation within H') on one or more data sets")
    tr.add_argument("data", nargs="+", type=in_file, help=".npz files of `bresa collect`")
    tr.add_argument("--out", type=out_file, required=True,
                    help="critic weights (.pt; a .json sidecar and .npz export beside)")
    tr.add_argument("--horizon-ms", type=number(0.0, 1e6, low_open=True), default=30.0)
    tr.add_argument("--hidden", type=count(1, 65536), nargs="+", default=[64, 64])
    tr.add_argument("--epochs", type=count(1, 10**6), default=10)
    tr.add_argument("--batch-size", type=count(1, 2**20), default=512)
    tr.add_argument("--seed", type=seed, default=0)
    tr.set_defaults(func=_train)

    ev = cmds.add_parser("eval", help="safety methods on perturbation seeds: JSON metrics and plots")
    ev.add_argument("--methods", default="none,force_clamp,reflex_20hz,reflex_1khz,minmod_1khz",
                    help="comma-separated, from: none, low_stiffness, force_clamp, reflex_20hz, "
                         "minmod_20hz, reflex_1khz, minmod_1khz, minmod_reflex_1khz")
    ev.add_argument("--seeds", type=seed_ranges(distinct=True), required=True, help="e.g. 1000-1199 or 3,5,8")
    ev.add_argument("--critic", type=in_file,
                    help="critic .pt or its .npz export (needed by the reflex_* and minmod_* methods)")
    ev.add_argument("--approach-speed", type=number(0.0, 1e3, low_open=True),
                    help="approach speed of the scripted task policy [m/s] (the impact-spike axis)")
    ev.add_argument("--env", choices=ENVS, default=DEFAULT_ENV, help="the task env (the critic's)")
    ev.add_argument("--workers", type=count(1, 1024), default=1)
    ev.add_argument("--plot", type=_plot_choice, default="first",
                    help="the episode force.png shows: 'first' seed (default), 'worst' (the longest "
                         "violation under the first method) or a seed")
    ev.add_argument("--out", type=out_dir, required=True, help="output folder")
    ev.set_defaults(func=_eval)

    ex = cmds.add_parser("export", help="write the critic as a torch-free .npz for the 1 kHz loop "
                                            "(feature layout: --env, else the training sidecar, else the size)")
    ex.add_argument("critic", type=in_file, help="critic .pt of `bresa train`")
    ex.add_argument("--out", type=out_file, help="output .npz (default: beside the critic)")
    ex.add_argument("--env", choices=ENVS, help="env whose feature layout the critic takes")
    ex.set_defaults(func=_export)
