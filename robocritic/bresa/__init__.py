"""Bresa: a learned safety critic that scores every 1 ms control step of a torque-controlled arm.

A 10-20 Hz task policy sets impedance targets; a Cartesian impedance controller
(:mod:`robocritic.controllers.impedance`) turns them into joint torques at 1 kHz; Bresa scores
each of those steps with the estimated risk (in [0, 1]) that the filtered contact force exceeds
its limit (``info["unsafe"]`` of ``robocritic/ArmPressWipe-v0``) within a short horizon.

Modules:

* :mod:`robocritic.bresa.labels` -- per-step safety cost, "violation within H steps" labels with
  a censoring mask for truncated episodes, the Recovery-RL style bootstrapped target and
  :func:`~robocritic.bresa.labels.gamma_for_horizon` (pure numpy);
* :mod:`robocritic.bresa.critic` -- :class:`~robocritic.bresa.critic.SafetyCritic` (twin sigmoid
  MLP heads, input normalisation as buffers), its torch-free inference form
  :class:`~robocritic.bresa.critic.NumpyCritic`, and weights-only save / load with a JSON sidecar;
* :mod:`robocritic.bresa.pretrain` -- supervised BCE pretraining of the twin heads on
  (features, label, mask) arrays.
"""
