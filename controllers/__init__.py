"""Classical control laws (numpy/scipy/cvxpy only; never imports envs or torch)."""
