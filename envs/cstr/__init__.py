"""The runaway-prone CSTR with a 480 K safety limit (plain ODE, no simulator)."""
