"""``robocritic envs``: the registered environments with their spaces."""

from __future__ import annotations

import argparse


def _run(_args: argparse.Namespace) -> int:
    """Print every registered env id with its entry point, period and spaces."""
    import gymnasium as gym

    from robocritic.envs import ENV_IDS

    for env_id in ENV_IDS:
        spec = gym.spec(env_id)
        try:
            env = gym.make(env_id)
        except ImportError as exc:
            print(f"{env_id}: unavailable ({exc})")
            continue
        base = env.unwrapped
        print(f"{env_id}\n  entry point: {spec.entry_point}\n  max steps:   {spec.max_episode_steps}"
              f"\n  control dt:  {base.dt:g} s\n  observation: {env.observation_space}"
              f"\n  action:      {env.action_space}")
        env.close()
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``envs`` to the top-level subcommands."""
    envs = sub.add_parser("envs", help="list registered environments",
                          description="Lists every robocritic/ env id with its spaces and control period.")
    envs.set_defaults(func=_run)
