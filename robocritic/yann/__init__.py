"""YANNs: exact network forms of explicit MPC (and, later, YANN-RL).

* :mod:`robocritic.yann.mpqp`: explicit MPC by multi-parametric QP (PPOPT, extra ``explicit``;
  imported only when a law is computed).
* :mod:`robocritic.yann.network`: the faithful 5-layer YANN and its structured fast form (torch).
* :mod:`robocritic.yann.export`: ONNX export checked against torch (extra ``export``).

The law itself (:class:`~robocritic.controllers.explicit_mpc.ExplicitLaw`) and its numpy
controller live in :mod:`robocritic.controllers.explicit_mpc`.
"""

from __future__ import annotations

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
