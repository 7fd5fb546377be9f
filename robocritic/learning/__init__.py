"""Method-agnostic learning core: rollout and evaluation, run records, checkpoints, buffers.

Imports no method package (``yann``, ``bresa``, ``navdp``); they build on it.
"""
