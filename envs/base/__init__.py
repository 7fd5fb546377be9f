"""Engine base classes with one override surface: ``step``, ``reset_model``, ``_get_obs``."""
