"""Model files (MJCF, URDF) shipped as package data."""
