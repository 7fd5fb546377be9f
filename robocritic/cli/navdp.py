"""``robocritic navdp generate|candidates|rollouts|train|export|check|check-candidates|eval``: NavDP data
from procedural worlds and the privileged expert, critic data from the sampler's own candidates, the
planner's own closed-loop states labelled by the expert,
training (and fine-tuning), the model-only export, offline sanity numbers and closed-loop
evaluation against the baselines (docs/navdp.md)."""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import fields
from typing import Any

from robocritic.cli.options import count, in_dir, in_file, number, out_dir, out_file, seed, seed_ranges

#: Largest integer a --config value may hold: config fields are sizes, counts and seeds.
_CONFIG_INT_MAX = 2**31 - 1


def _value(owner: str, key: str, default: Any, text: str) -> Any:
    """``text`` as the type of ``default`` (bool, int, float, str, or a tuple of numbers)."""
    try:
        if isinstance(default, bool):
            if text.lower() not in ("true", "false", "1", "0"):
                raise ValueError("expected true or false")
            return text.lower() in ("true", "1")
        if isinstance(default, int):
            return _config_int(text)
        if isinstance(default, float):
            return _config_float(text)
        if isinstance(default, tuple):
            return tuple(_config_float(v) for v in text.split(","))
        return text
    except ValueError as exc:
        raise ValueError(f"--config {key}={_short(text)}: not a value for {owner}.{key} "
                         f"(like {default!r}): {exc}") from None


def _config_int(text: str) -> int:
    value = int(text)
    if abs(value) > _CONFIG_INT_MAX:
        raise ValueError(f"magnitude above {_CONFIG_INT_MAX}")
    return value


def _config_float(text: str) -> float:
    # float() alone takes "nan" and "inf", which no NavDP setting means
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("not a finite number")
    return value


def parse_config(items: list[str] | None, targets: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``k=v`` items -> ``{target: {field: value}}`` with values typed like the defaults of
    ``targets`` (name -> default dataclass instance; a ``"depth."`` prefix names the target
    ``"depth"``, else the first target with that field). Unknown keys raise ValueError naming them."""
    out: dict[str, dict[str, Any]] = {name: {} for name in targets}
    for item in items or []:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(f"--config: expected KEY=VALUE; got {_short(item)!r}")
        prefix, dot, name = key.rpartition(".")
        candidates = [prefix] if dot else list(targets)
        for target in candidates:
            obj = targets.get(target)
            if obj is not None and name in {f.name for f in fields(obj)}:
                if name in out[target]:
                    raise ValueError(f"--config: {key} given twice")
                out[target][name] = _value(type(obj).__name__, key, getattr(obj, name), text.strip())
                break
        else:
            known = sorted(f"{t}.{f.name}" if t in ("depth", "expert") else f.name
                           for t, o in targets.items() for f in fields(o))
            raise ValueError(f"--config: unknown key {_short(key)!r}; known: {', '.join(known)}")
    return out


def _short(text: str) -> str:
    return text if len(text) <= 80 else text[:77] + "..."


def _sample_config(args: argparse.Namespace) -> Any:
    from robocritic.envs.nav.sensors import DepthConfig
    from robocritic.navdp.dataset import SampleConfig
    from robocritic.navdp.expert import ExpertConfig

    base = SampleConfig()
    parsed = parse_config(args.config, {"sample": base, "depth": base.depth, "expert": base.expert})
    top = parsed["sample"]
    for name, value in (("world_spec", args.preset), ("pairs_per_world", args.per_world)):
        if value is not None:
            if name in top and top[name] != value:
                raise ValueError(f"--config {name}={top[name]!r} disagrees with its option ({value!r})")
            top[name] = value
    return SampleConfig(**top, depth=DepthConfig(**{**vars_of(base.depth), **parsed["depth"]}),
                        expert=ExpertConfig(**{**vars_of(base.expert), **parsed["expert"]}))


def vars_of(obj: Any) -> dict[str, Any]:
    return {f.name: getattr(obj, f.name) for f in fields(obj)}


def _generate(args: argparse.Namespace) -> int:
    from robocritic.navdp.generate import generate, parse_worlds

    report = generate(parse_worlds(args.worlds), args.out, _sample_config(args), workers=args.workers,
                      backend=args.backend, progress=not args.no_progress)
    print(json.dumps({"out": str(args.out), **report.summary()}))
    return 0


def _candidate_config(args: argparse.Namespace) -> Any:
    from robocritic.navdp.candidates import CandidateConfig

    return CandidateConfig(n_candidates=args.k, stride=args.stride, seed=args.seed)


def _candidates(args: argparse.Namespace) -> int:
    from robocritic.navdp.candidates import generate_candidates
    from robocritic.navdp.generate import parse_worlds

    worlds = parse_worlds(args.worlds) if args.worlds else None
    report = generate_candidates(args.data, args.model, args.out, _candidate_config(args), worlds=worlds,
                                 threads=args.threads, progress=not args.no_progress)
    print(json.dumps({"out": str(args.out), **report.summary()}))
    return 0


def _rollouts(args: argparse.Namespace) -> int:
    from robocritic.navdp.generate import parse_worlds
    from robocritic.navdp.rollouts import RolloutConfig, generate_rollouts

    sample_config = _sample_config(args)
    config = RolloutConfig(episodes_per_world=args.episodes, record_every=args.record_every,
                           method=args.method, preset=sample_config.world_spec, seed=args.seed)
    report = generate_rollouts(parse_worlds(args.worlds), args.model, args.out, config, sample_config,
                               workers=args.workers, progress=not args.no_progress)
    print(json.dumps({"out": str(args.out), **report.summary()}))
    return 0


def _check_candidates(args: argparse.Namespace) -> int:
    import torch

    from robocritic.navdp.candidates import candidate_check
    from robocritic.navdp.checkpoint import load_model

    torch.set_num_threads(args.threads)
    numbers = candidate_check(load_model(args.model), args.data, _candidate_config(args),
                              progress=not args.no_progress)
    print(json.dumps({k: None if isinstance(v, float) and math.isnan(v) else v for k, v in numbers.items()}))
    return 0


def _train(args: argparse.Namespace) -> int:
    from robocritic.navdp.config import NavDPConfig
    from robocritic.navdp.train import TrainConfig, train

    parsed = parse_config(args.config, {"train": TrainConfig(), "model": NavDPConfig()})
    options = {"steps": args.steps, "batch_size": args.batch, "seed": args.seed, "lr": args.lr,
               "threads": args.threads, "val_fraction": args.val_fraction,
               "checkpoint_every": args.checkpoint_every}
    train_kw = parsed["train"]
    for name, value in options.items():
        if value is not None:
            if name in train_kw and train_kw[name] != value:
                raise ValueError(f"--config {name}={train_kw[name]!r} disagrees with its option ({value!r})")
            train_kw[name] = value
    train_kw.setdefault("progress", not args.no_progress)
    train_kw.setdefault("tensorboard", not args.no_tensorboard)
    data = args.data[0] if len(args.data) == 1 else args.data
    candidates = args.candidates[0] if args.candidates and len(args.candidates) == 1 else args.candidates
    result = train(data, args.out, TrainConfig(**train_kw), parsed["model"], init=args.init,
                   candidates=candidates)
    last = {k: v[-1] for k, v in result.history.items() if v and not k.endswith("step")}
    print(json.dumps({"run": str(result.run_dir), "step": result.step,
                      "model": str(result.run_dir / "model.pt"), "steps_per_s": round(result.steps_per_s, 2),
                      **{k: round(v, 5) for k, v in last.items()}}))
    return 0


def _export(args: argparse.Namespace) -> int:
    from robocritic.navdp.train import export_run

    print(json.dumps({"exported": str(export_run(args.run, args.out))}))
    return 0


def _check(args: argparse.Namespace) -> int:
    import torch

    from robocritic.navdp.checkpoint import load_model
    from robocritic.navdp.shards import ShardDataset
    from robocritic.navdp.train import check_model

    torch.set_num_threads(args.threads)
    numbers = check_model(load_model(args.model), ShardDataset(args.data), samples=args.samples,
                          seed=args.seed)
    print(json.dumps({k: None if isinstance(v, float) and math.isnan(v) else v for k, v in numbers.items()}))
    return 0


def _eval(args: argparse.Namespace) -> int:
    from robocritic.jobs.navdp_eval import evaluate
    from robocritic.navdp.generate import parse_worlds

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    checkpoint = args.checkpoint
    if checkpoint is None and any(m.startswith("navdp") for m in methods):
        from robocritic.navdp.assets import small_model_path

        checkpoint = small_model_path()
    summary = evaluate(methods, parse_worlds(args.worlds), args.out, checkpoint=checkpoint,
                       episodes_per_world=args.episodes_per_world, preset=args.preset, workers=args.workers,
                       progress=not args.no_progress)
    print(f"{'method':<14} {'success':>8} {'95% CI':>16} {'collision':>10} {'SPL':>6} {'plan ms p50':>12}")
    for name, m in summary["methods"].items():
        lo, hi = m["success_ci95"]
        print(f"{name:<14} {m['success_rate']:>8.2f} {f'[{lo:.2f}, {hi:.2f}]':>16} {m['collision_rate']:>10.2f} "
              f"{m['spl_euclidean']:>6.2f} {m['plan_ms_p50']:>12.1f}")
    print(f"per-episode and summary JSON and plots in {args.out}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``navdp generate|candidates|train|export|check|check-candidates|eval`` to the top-level
    subcommands."""
    navdp = sub.add_parser("navdp", help="NavDP: data generation, training, export and checks",
                           description="Generate NavDP shards from procedural worlds, train the diffusion "
                                       "policy and critic, export the model, check it offline.")
    cmds = navdp.add_subparsers(dest="navdp_command", required=True, metavar="SUBCOMMAND")

    gen = cmds.add_parser("generate", help="one shard per world seed (resumable: rerun to finish)")
    gen.add_argument("--worlds", type=seed_ranges(), required=True, help="world seeds, e.g. 0-199 or 0-9,20")
    gen.add_argument("--out", type=out_dir, required=True, help="folder of the shards")
    gen.add_argument("--workers", type=count(1, 1024), default=1,
                     help="processes (the shards do not depend on it)")
    gen.add_argument("--preset", default=None, help="world preset (default, dense, empty); default: default")
    gen.add_argument("--per-world", type=count(1, 10**4), default=None,
                     help="start/goal pairs per world (default 4)")
    gen.add_argument("--backend", choices=("local", "ray"), default="local",
                     help="local processes, or Ray tasks (RAY_ADDRESS names a cluster; extra 'dist')")
    gen.add_argument("--config", nargs="+", metavar="KEY=VALUE",
                     help="SampleConfig fields, e.g. n_critic=4 depth.noise_std=0.01 expert.smoothing=0.2")
    gen.add_argument("--no-progress", action="store_true")
    gen.set_defaults(func=_generate)

    tr = cmds.add_parser("train", help="train on a folder of shards (resumes RUN_DIR's newest checkpoint)")
    tr.add_argument("data", type=in_dir, nargs="+",
                    help="folder(s) of shards, e.g. generated shards and `navdp rollouts` shards")
    tr.add_argument("--out", type=out_dir, required=True, help="run folder")
    tr.add_argument("--steps", type=count(1, 10**9), default=None, help="gradient steps in all (default 2000)")
    tr.add_argument("--batch", type=count(1, 2**20), default=None, help="batch size (default 32)")
    tr.add_argument("--seed", type=seed, default=None)
    tr.add_argument("--lr", type=number(0.0, 1.0, low_open=True), default=None,
                    help="initial Adam learning rate (default 1e-4)")
    tr.add_argument("--threads", type=count(1, 1024), default=None, help="torch threads (default 1)")
    tr.add_argument("--val-fraction", type=number(0.0, 1.0, high_open=True), default=None,
                    help="held-out share of shards (default 0.1)")
    tr.add_argument("--checkpoint-every", type=count(1, 10**9), default=None)
    tr.add_argument("--config", nargs="+", metavar="KEY=VALUE",
                    help="NavDPConfig or TrainConfig fields, e.g. d_model=64 n_layers=4 decay_steps=4000")
    tr.add_argument("--init", type=in_file, default=None, metavar="MODEL.pt",
                    help="start from this model file's weights and label normalisation (fine-tuning)")
    tr.add_argument("--candidates", type=in_dir, nargs="+", default=None, metavar="DIR",
                    help="folder(s) of candidate files of the training shards (`navdp candidates`, "
                         "`navdp rollouts`), searched in order; with --config candidate_batch=B the "
                         "critic also trains on them")
    tr.add_argument("--no-progress", action="store_true")
    tr.add_argument("--no-tensorboard", action="store_true")
    tr.set_defaults(func=_train)

    def candidate_options(p: argparse.ArgumentParser, stride: int) -> None:
        p.add_argument("--k", type=count(1, 4096), default=16,
                       help="candidates per observation sample (default 16)")
        p.add_argument("--stride", type=count(1, 10**6), default=stride,
                       help=f"every STRIDE-th sample of a shard (default {stride})")
        p.add_argument("--seed", type=seed, default=0)
        p.add_argument("--threads", type=count(1, 1024), default=1, help="torch threads (default 1)")
        p.add_argument("--no-progress", action="store_true")

    ca = cmds.add_parser("candidates", help="sample and label a model's own candidates for the samples of "
                                            "shards (resumable: rerun to finish)")
    ca.add_argument("data", type=in_dir, help="folder of shards")
    ca.add_argument("--model", type=in_file, required=True,
                    help="model file (.pt) that samples the candidates")
    ca.add_argument("--out", type=out_dir, required=True, help="folder of the candidate files")
    ca.add_argument("--worlds", type=seed_ranges(), default=None,
                    help="only these world seeds, e.g. 0-99 (default: all shards)")
    candidate_options(ca, 4)
    ca.set_defaults(func=_candidates)

    ro = cmds.add_parser("rollouts", help="the planner's own closed-loop states in training worlds, labelled "
                                          "by the expert, with its candidates (resumable: rerun to finish)")
    ro.add_argument("--model", type=in_file, required=True, help="model file (.pt) that drives the robot")
    ro.add_argument("--worlds", type=seed_ranges(), required=True,
                    help="training world seeds, e.g. 20000-20099 (not held-out or tuning seeds)")
    ro.add_argument("--out", type=out_dir, required=True, help="folder of the rollout shards and candidates")
    ro.add_argument("--episodes", type=count(1, 10**4), default=2,
                    help="paired episodes per world (default 2)")
    ro.add_argument("--record-every", type=count(1, 10**4), default=2,
                    help="every N-th plan is a state (default 2: one per 0.5 s)")
    ro.add_argument("--method", default="navdp",
                    choices=("navdp", "navdp_critic_only", "navdp_first", "navdp_random"),
                    help="the selection that drives the robot (default navdp)")
    ro.add_argument("--seed", type=seed, default=0, help="seeds the rotated negatives")
    ro.add_argument("--workers", type=count(1, 1024), default=1,
                    help="processes (the files do not depend on it)")
    ro.add_argument("--preset", default=None, help="world preset (default: default)")
    ro.add_argument("--per-world", type=count(1, 10**4), default=None, help=argparse.SUPPRESS)
    ro.add_argument("--config", nargs="+", metavar="KEY=VALUE",
                    help="SampleConfig fields of the shards (must match the generated shards to train "
                         "together)")
    ro.add_argument("--no-progress", action="store_true")
    ro.set_defaults(func=_rollouts)

    ex = cmds.add_parser("export", help="the newest checkpoint of a run as a model-only file")
    ex.add_argument("run", type=in_dir, help="run folder of `navdp train`")
    ex.add_argument("--out", type=out_file, required=True, help="model file (.pt)")
    ex.set_defaults(func=_export)

    ev = cmds.add_parser("eval", help="closed-loop episodes of NavDP and the baselines on seeded worlds")
    ev.add_argument("--methods", default="straight,dwa,navdp,navdp_first,expert",
                    help="comma-separated, from: straight, dwa, navdp, navdp_critic_only, navdp_first, "
                         "navdp_random, expert")
    ev.add_argument("--worlds", type=seed_ranges(), required=True, help="world seeds, e.g. 5000-5099 or 3,5,8")
    ev.add_argument("--episodes-per-world", type=count(1, 10**4), default=1)
    ev.add_argument("--preset", default="default", help="world generator preset (default, dense, empty)")
    ev.add_argument("--checkpoint", type=in_file, default=None,
                    help="NavDP model file (default: the shipped robocritic/navdp/assets/navdp_small.pt)")
    ev.add_argument("--workers", type=count(1, 1024), default=1)
    ev.add_argument("--out", type=out_dir, required=True, help="output folder")
    ev.add_argument("--no-progress", action="store_true")
    ev.set_defaults(func=_eval)

    ck = cmds.add_parser("check", help="offline sanity numbers of a model on (held-out) shards, as JSON")
    ck.add_argument("model", type=in_file, help="model file (.pt)")
    ck.add_argument("data", type=in_dir, help="folder of shards (worlds not trained on)")
    ck.add_argument("--samples", type=count(1, 10**7), default=200)
    ck.add_argument("--seed", type=seed, default=0)
    ck.add_argument("--threads", type=count(1, 1024), default=1)
    ck.set_defaults(func=_check)

    cc = cmds.add_parser("check-candidates", help="offline: does the critic's pick among the model's own "
                                                  "candidates collide within its first metre? JSON")
    cc.add_argument("model", type=in_file, help="model file (.pt)")
    cc.add_argument("data", type=in_dir, help="folder of shards (worlds not trained on)")
    candidate_options(cc, 1)
    cc.set_defaults(func=_check_candidates)
