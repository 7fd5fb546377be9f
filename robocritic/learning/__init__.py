"""Method-agnostic learning core: rollout and evaluation, run records, checkpoints, buffers.

* :mod:`~robocritic.learning.rollout` -- one episode or a lockstep evaluation of a policy on envs
  from an env factory; the safety flag ``info["unsafe"]``; episode seeds.
* :mod:`~robocritic.learning.runs` -- the typed run record (``metrics.json``), the run folder,
  the policy sidecar, the curve logger (TensorBoard, progress bar).
* :mod:`~robocritic.learning.checkpoint` -- step-indexed, weights-only, atomic, digest-verified
  resumable checkpoints.
* :mod:`~robocritic.learning.buffer` -- a replay buffer with reward and cost.
* :mod:`~robocritic.learning.spec` -- what a trained policy acts on (plant spec, observation
  normalisation, box half-widths), so that it runs without its simulator.
* :mod:`~robocritic.learning.sb3` -- stable-baselines3 policies as controllers (extra ``rl``).

Imports no method package (``yann``, ``bresa``, ``navdp``) and no env; they build on it.
"""
