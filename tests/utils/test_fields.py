"""Field checks (robocritic.utils.fields): each error names the owner, the field and the value."""

from __future__ import annotations

import math

import numpy as np
import pytest

from robocritic.utils.fields import (
    check_bool,
    check_choice,
    check_int,
    check_psd_matrix,
    check_real,
    check_sizes,
    check_vector,
    is_int,
    is_real,
)


def test_numbers_are_told_apart_from_bools():
    assert is_int(3) and is_int(np.int64(3)) and not is_int(True) and not is_int(3.0)
    assert is_real(3) and is_real(np.float32(1.5)) and not is_real(False) and not is_real("1")


@pytest.mark.parametrize(
    ("check", "match"),
    [
        (lambda: check_int("Cfg", "batch_size", 0, 1), r"^Cfg\.batch_size must be an integer >= 1; got 0$"),
        (lambda: check_int("Cfg", "batch_size", True, 0), r"Cfg\.batch_size .* got True"),
        (lambda: check_real("Cfg", "tau", 0.0, low=0.0, high=1.0, low_open=True),
         r"^Cfg\.tau must be a finite number > 0\.0 and <= 1\.0; got 0\.0$"),
        (lambda: check_real("Cfg", "lr", math.nan, low=0.0), r"Cfg\.lr must be a finite number >= 0\.0; got nan"),
        (lambda: check_choice("Cfg", "activation", "gelu", ("tanh", "relu")),
         r"Cfg\.activation must be one of \['tanh', 'relu'\]; got 'gelu'"),
        (lambda: check_bool("Cfg", "train_law", 1), r"Cfg\.train_law must be true or false; got 1"),
        (lambda: check_sizes("Cfg", "hidden", (), allow_empty=False), r"Cfg\.hidden must be a list of layer widths"),
        (lambda: check_sizes("Cfg", "hidden", (8, 0), allow_empty=True), r"Cfg\.hidden .* got \(8, 0\)"),
        (lambda: check_vector("Cfg", "h", (1.0, math.inf)), r"Cfg\.h must be a non-empty list of finite numbers"),
        (lambda: check_vector("Cfg", "h", (1.0, 0.0), positive=True), r"Cfg\.h must hold numbers > 0"),
        (lambda: check_psd_matrix("Cfg", "Q", ((1.0, 0.0),)), r"Cfg\.Q must be a square matrix"),
        (lambda: check_psd_matrix("Cfg", "Q", ((1.0, 2.0), (0.0, 1.0))), r"Cfg\.Q must be symmetric"),
        (lambda: check_psd_matrix("Cfg", "Q", ((1.0, 0.0), (0.0, -1.0))), r"Cfg\.Q must be positive semidefinite"),
    ],
)  # fmt: skip
def test_errors_name_owner_field_and_value(check, match):
    with pytest.raises(ValueError, match=match):
        check()


def test_valid_values_pass():
    check_int("C", "n", 1, 1)
    check_real("C", "x", 1.0, low=0.0, high=1.0)
    check_real("C", "x", 2, low=0.0)
    check_choice("C", "a", "tanh", ("tanh",))
    check_bool("C", "b", False)
    check_sizes("C", "s", (), allow_empty=True)
    check_vector("C", "v", (0.5, 1), positive=True)
    check_psd_matrix("C", "Q", ((2.0, 0.0), (0.0, 0.0)))
