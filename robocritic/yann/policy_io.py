"""Trained YANN-RL policies (YANN-DDPG, DDPG, TD3, SAC) to and from their run folders, with no
simulator.

A finished run holds ``actor.pt`` (weights only) and ``actor.json``
(:class:`~robocritic.learning.runs.PolicySidecar`: the config, the plant spec -- sizes, period,
operating point, bounds -- and the SB3 baselines' observation normalisation) and, for YANN-DDPG,
``law.npz`` (the explicit law). :func:`load_policy` rebuilds the policy from these alone: no env
is built and no simulator or env module is imported, so a deployment (the ``yann_controller``
node) carries none of the training code.

Run folders written before the sidecar recorded the plant (format 1) still load: their plant is
read from the config's env, which imports the simulator (as robocritic did then).
:func:`upgrade_sidecar` rewrites such a sidecar once, after which the run loads env-free.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import torch

from robocritic.controllers.explicit_mpc import ExplicitLaw
from robocritic.interfaces import BatchController
from robocritic.learning.checkpoint import CheckpointError, load_module_state
from robocritic.learning.runs import SIDECAR_FORMAT, PolicySidecar, RunFolder, versions
from robocritic.learning.spec import ObsNormalization, PlantSpec, half_widths
from robocritic.utils.atomic import atomic_write_json
from robocritic.yann.actor import TorchPolicy, build_actor
from robocritic.yann.config import ALGORITHMS, SB3_ALGORITHMS, RLConfig, config_from_record, config_to_dict

__all__ = ["LAW_FILE", "SIDECAR_KIND", "LoadedPolicy", "load_policy", "upgrade_sidecar", "yann_sidecar"]

SIDECAR_KIND = "robocritic.yann actor"
LAW_FILE = "law.npz"


def yann_sidecar(
    config: RLConfig,
    algorithm: str,
    seed: int,
    plant: PlantSpec,
    *,
    has_law: bool,
    observation: ObsNormalization | None = None,
    extra_versions: dict[str, str] | None = None,
) -> PolicySidecar:
    """The sidecar of a finished YANN-RL run (``"law"``: the law file of YANN-DDPG, else null)."""
    return PolicySidecar(
        kind=SIDECAR_KIND,
        algorithm=algorithm,
        seed=int(seed),
        env_id=config.env_id,
        config=config_to_dict(config),
        weights=RunFolder.WEIGHTS,
        plant=plant,
        observation=observation,
        extra={"law": LAW_FILE if has_law else None},
        versions=versions(**(extra_versions or {})),
    )


@dataclass(frozen=True)
class LoadedPolicy:
    """A trained policy and what it was trained on.

    Attributes:
        policy: a BatchController on absolute observations (float64 actions).
        config: the run's config. algorithm: its algorithm. plant: the system it acts on.
        sidecar: the sidecar as read (``format`` 1 for a folder from before env-free loading).
    """

    policy: BatchController
    config: RLConfig
    algorithm: str
    plant: PlantSpec
    sidecar: PolicySidecar


def load_policy(run_dir: str | Path) -> LoadedPolicy:
    """The trained policy of a finished run, rebuilt from ``actor.json`` + ``actor.pt``
    (weights-only, checked against the sidecar's digest where it has one) and, for YANN-DDPG,
    ``law.npz``; no PPOPT, no env, no simulator (for a format-1 sidecar, see the module
    docstring).

    Raises:
        CheckpointError: naming the file: a missing or invalid file, a weights file that is not
            weights-only or does not fit the config's network (a missing or extra key, another
            shape or dtype), a ``weights`` / ``law`` entry of ``actor.json`` that leads out of the
            run folder, or an unknown algorithm.
    """
    folder = RunFolder(run_dir)
    side = folder.read_sidecar()
    if side.algorithm not in ALGORITHMS:
        raise CheckpointError(f"{folder.sidecar_path}: unknown algorithm {side.algorithm!r:.80}")
    config = _config(side, folder)
    weights = folder.member(side.weights, folder.sidecar_path)
    state = folder.read_weights(side)
    plant, observation = side.plant, side.observation
    if plant is None:
        plant, observation = _plant_from_env(config)
    policy: BatchController
    if side.algorithm in SB3_ALGORITHMS:
        if observation is None:
            raise CheckpointError(
                f"{folder.sidecar_path}: an SB3 policy needs its 'observation' normalisation"
            )
        policy = _sb3_policy(config, side.algorithm, plant, observation, state, weights)
    else:
        law = _law(folder, side)
        try:
            actor = build_actor(
                config,
                side.algorithm,
                law,
                x_eq=plant.x_eq,
                x_scale=half_widths(plant.state_low, plant.state_high),
                u_low=plant.input_low,
                u_high=plant.input_high,
            )
        except ValueError as exc:  # e.g. yann_ddpg without its law: what the sidecar records
            raise CheckpointError(f"{folder.sidecar_path}: {exc}") from None
        _load_state(actor, state, "actor", weights)
        policy = TorchPolicy(actor)
    return LoadedPolicy(policy=policy, config=config, algorithm=side.algorithm, plant=plant, sidecar=side)


def upgrade_sidecar(run_dir: str | Path) -> PolicySidecar:
    """Rewrite a format-1 ``actor.json`` in the current format (adds the plant and, for TD3/SAC,
    the observation normalisation, read once from the config's env), so that the run loads
    without the simulator from then on. A current sidecar is returned unchanged."""
    folder = RunFolder(run_dir)
    side = folder.read_sidecar()
    if side.plant is not None:
        return side
    plant, observation = _plant_from_env(_config(side, folder))
    upgraded = replace(
        side,
        plant=plant,
        observation=observation if side.algorithm in SB3_ALGORITHMS else None,
        format=SIDECAR_FORMAT,
    )
    atomic_write_json(folder.sidecar_path, upgraded.to_json())
    return upgraded


def _config(side: PolicySidecar, folder: RunFolder) -> RLConfig:
    try:
        return config_from_record(side.config)
    # config_from_record documents ValueError; a value of the wrong type in a hand-edited record
    # can still surface as TypeError from a constructor: both name the sidecar.
    except (ValueError, TypeError) as exc:
        raise CheckpointError(f"{folder.sidecar_path}: config: {str(exc)[:300]}") from None


def _law(folder: RunFolder, side: PolicySidecar) -> ExplicitLaw | None:
    """YANN-DDPG's explicit law (``"law"`` of the sidecar: a file of the run folder, or null)."""
    law_file = side.extra.get("law")
    if law_file is None:
        return None
    if not isinstance(law_file, str):
        raise CheckpointError(f"{folder.sidecar_path}: 'law' must be a file name or null; got {law_file!r:.60}")
    path = folder.member(law_file, folder.sidecar_path)
    if not path.is_file():
        raise CheckpointError(f"{path}: missing (the law named by {folder.SIDECAR})")
    return ExplicitLaw.load(path)


def _load_state(module: torch.nn.Module, state: dict, key: str, path: Path) -> None:
    if key not in state:
        raise CheckpointError(f"{path}: no '{key}' weights")
    try:
        load_module_state(module, state[key], path, key)
    except CheckpointError as exc:
        raise CheckpointError(f"{exc} (the weights do not fit the config's network)") from None


def _sb3_policy(
    config: RLConfig,
    algorithm: str,
    plant: PlantSpec,
    observation: ObsNormalization,
    state: dict,
    path: Path,
) -> BatchController:
    from robocritic.learning.sb3 import SB3Policy, build_sb3_policy

    learner_config = config.sb3_learner(algorithm)
    network = build_sb3_policy(
        algorithm, observation, plant.action_space(), learner_config.net_arch, learner_config.learning_rate
    )
    _load_state(network, state, "policy", path)
    return SB3Policy(network, observation)


def _plant_from_env(config: RLConfig) -> tuple[PlantSpec, ObsNormalization]:
    """Plant and SB3 observation normalisation of a format-1 run, from the config's env (imports
    the simulator: only for run folders written before the sidecar recorded them)."""
    from robocritic.yann.factory import resolve

    setup = resolve(config)
    try:
        return setup.plant, setup.observation
    finally:
        setup.close()
