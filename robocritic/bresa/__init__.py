"""Bresa: a learned safety critic that scores every 1 ms control step of a torque-controlled arm.

A 10-20 Hz task policy sets impedance targets; a Cartesian impedance controller
(:mod:`robocritic.controllers.impedance`) turns them into joint torques at 1 kHz; Bresa scores
each of those steps with the estimated risk (in [0, 1]) that the filtered contact force exceeds
its limit (``info["unsafe"]`` of ``robocritic/ArmPressWipe-v0``) within a short horizon.

Modules:

* :mod:`robocritic.bresa.features` -- what the critic sees: per-tick state features and the
  impedance command ``[setpoint, log_stiffness]`` it scores;
* :mod:`robocritic.bresa.hierarchy` -- the two-rate loop: task policy every ``decision_ticks``,
  interpolation, a safety filter and the impedance law every 1 ms tick, per-tick traces;
* :mod:`robocritic.bresa.policies` -- the scripted press-and-wipe task policy and the randomised
  exploration policy of the data collection;
* :mod:`robocritic.bresa.labels` -- per-step safety cost, "violation within H steps" labels with
  a censoring mask for truncated episodes, the Recovery-RL style bootstrapped target and
  :func:`~robocritic.bresa.labels.gamma_for_horizon` (pure numpy);
* :mod:`robocritic.bresa.collect` -- unfiltered, perturbed episodes into a versioned ``.npz``
  data set (no pickles, atomic);
* :mod:`robocritic.bresa.critic` -- :class:`~robocritic.bresa.critic.SafetyCritic` (twin sigmoid
  MLP heads, input normalisation as buffers) and weights-only save / load with a JSON sidecar;
* :mod:`robocritic.bresa.numpy_critic` -- :class:`~robocritic.bresa.numpy_critic.NumpyCritic`, the
  torch-free inference form for the 1 kHz loop;
* :mod:`robocritic.bresa.pretrain`, :mod:`robocritic.bresa.train` -- BCE training of the twin
  heads, episodes held out for validation;
* :mod:`robocritic.bresa.discounted` -- the Recovery-RL style discounted critic (target network,
  gamma from a physical horizon);
* :mod:`robocritic.bresa.task_env`, :mod:`robocritic.bresa.task_rl` -- the task at the decision
  rate as a Gymnasium env, and SAC task policies trained with or without a filter in the loop;
* :mod:`robocritic.bresa.export` -- the critic as one digest-checked ``.npz`` for the 1 kHz loop;
* :mod:`robocritic.bresa.filters` -- the interventions: the Bresa reflex, the minimal-modification
  filter (one batched critic call), the decision-rate check and the analytic force clamp;
* :mod:`robocritic.bresa.methods` -- the compared methods as (task policy, filter) pairs;
* :mod:`robocritic.bresa.evaluate` -- the critic's own quality: precision / recall, lead time,
  false triggers in contact, calibration.

``robocritic bresa collect|train|eval|export`` runs them from the command line
(:mod:`robocritic.jobs.bresa_eval` is the evaluation job).
"""
