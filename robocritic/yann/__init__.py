"""YANNs: exact network forms of explicit MPC, and YANN-RL (the explicit MPC improved by DDPG).

* :mod:`robocritic.yann.mpqp`: explicit MPC by multi-parametric QP (PPOPT, extra ``explicit``;
  imported only when a law is computed).
* :mod:`robocritic.yann.network`: the faithful 5-layer YANN and its structured fast form (torch).
* :mod:`robocritic.yann.export`: ONNX export checked against torch (extra ``export``).
* YANN-RL: :mod:`~robocritic.yann.config` (hyper-parameters), :mod:`~robocritic.yann.actor`,
  :mod:`~robocritic.yann.critic`, :mod:`~robocritic.yann.ddpg` (the learner),
  :mod:`~robocritic.yann.factory` (a config resolved once), :mod:`~robocritic.yann.trainer` (the
  training loop), :mod:`~robocritic.yann.baselines` (TD3/SAC), :mod:`~robocritic.yann.policy_io`
  (trained policies from run folders, no simulator), :mod:`~robocritic.yann.runner` (entry
  points), :mod:`~robocritic.yann.comparison` (the study).

The law itself (:class:`~robocritic.controllers.explicit_mpc.ExplicitLaw`) and its numpy
controller live in :mod:`robocritic.controllers.explicit_mpc`.

The names below load on first use, so that importing ``robocritic.yann.config`` (the CLI's
parser does) costs neither torch nor cvxpy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from robocritic.yann.mpqp import (
        REFERENCE_PROBLEMS,
        Agreement,
        ExplicitSolveResult,
        ReferenceProblem,
        build_mpqp,
        compare_with_online,
        compute_explicit_mpc,
        law_from_solution,
        reference_problem,
        sample_domain,
        solve_program,
    )
    from robocritic.yann.network import YANN, YANNFast, YANNOutput, required_big_m

_MPQP = ("REFERENCE_PROBLEMS", "Agreement", "ExplicitSolveResult", "ReferenceProblem", "build_mpqp",
         "compare_with_online", "compute_explicit_mpc", "law_from_solution", "reference_problem",
         "sample_domain", "solve_program")
_NETWORK = ("YANN", "YANNFast", "YANNOutput", "required_big_m")
_HOMES = {**dict.fromkeys(_MPQP, "robocritic.yann.mpqp"), **dict.fromkeys(_NETWORK, "robocritic.yann.network")}

__all__ = [
    "REFERENCE_PROBLEMS",
    "YANN",
    "Agreement",
    "ExplicitSolveResult",
    "ReferenceProblem",
    "YANNFast",
    "YANNOutput",
    "build_mpqp",
    "compare_with_online",
    "compute_explicit_mpc",
    "law_from_solution",
    "reference_problem",
    "required_big_m",
    "sample_domain",
    "solve_program",
]


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'robocritic.yann' has no attribute {name!r}")
