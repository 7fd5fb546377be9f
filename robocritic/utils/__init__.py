"""Small helpers shared by every room of robocritic (imports nothing else from robocritic)."""

from robocritic.utils.validation import as_vector, check_finite, check_matrix

__all__ = ["as_vector", "check_finite", "check_matrix"]
