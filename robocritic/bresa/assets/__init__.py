"""Files that ship with Bresa: ``press_wipe_critic.npz``, the critic of ``robocritic demo``
(a torch-free export, :func:`robocritic.bresa.export.load_exported`; rebuilt by
``scripts/train_bresa_critic.sh``)."""
