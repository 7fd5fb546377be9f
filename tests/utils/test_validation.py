"""Unit tests for the array helpers added to robocritic.utils.validation: as_array, readonly_array."""

from __future__ import annotations

import numpy as np
import pytest

from robocritic.utils.validation import as_array, readonly_array


def test_as_array_converts_to_a_float64_copy() -> None:
    src = np.array([[1, 2], [3, 4]])
    out = as_array("Owner.M", src, 2)
    assert out.dtype == np.float64 and out.shape == (2, 2)
    out[0, 0] = 9.0
    assert src[0, 0] == 1  # a copy: the caller's array is untouched
    np.testing.assert_array_equal(as_array("Owner.v", [1.0, 2.0], 1), [1.0, 2.0])
    assert as_array("Owner.v", [], 1).shape == (0,)  # sizes are the caller's to check


@pytest.mark.parametrize(
    ("value", "ndim", "match"),
    [
        ("abc", 1, r"Owner\.field must be a numeric array; got 'abc'"),
        ([[1.0], [2.0, 3.0]], 2, r"Owner\.field must be a numeric array"),
        ([1.0, 2.0], 2, r"Owner\.field must be 2-D; got shape \(2,\)"),
        (1.0, 1, r"Owner\.field must be 1-D; got shape \(\)"),
        ([1.0, np.nan, np.inf], 1, r"Owner\.field must be finite; .*index \[1, 2\]"),
    ],
)
def test_as_array_errors_name_the_field(value: object, ndim: int, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        as_array("Owner.field", value, ndim)


def test_readonly_array_is_a_frozen_contiguous_copy() -> None:
    src = np.arange(6.0).reshape(2, 3).T  # a non-contiguous view
    out = readonly_array(src)
    np.testing.assert_array_equal(out, src)
    assert out.dtype == np.float64 and out.flags.c_contiguous and not out.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        out[0, 0] = 1.0
    src[0, 0] = 7.0
    assert out[0, 0] == 0.0  # not a view of the caller's array
    assert src.base.flags.writeable  # and the caller's array stays writable


def test_readonly_array_keeps_a_requested_dtype() -> None:
    ptr = readonly_array([0, 2, 5], np.int64)
    assert ptr.dtype == np.int64 and not ptr.flags.writeable
    assert readonly_array(3).shape == ()  # scalars too
