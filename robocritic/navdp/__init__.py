"""NavDP: diffusion trajectories ranked by a critic."""
