"""robocritic.utils.optional.require: the module, or an error naming the extra."""

from __future__ import annotations

import pytest

from robocritic.utils.optional import require


def test_returns_the_imported_module():
    assert require("json.decoder", "none", "parsing").__name__ == "json.decoder"


def test_a_missing_module_names_the_extra_and_the_purpose():
    with pytest.raises(ImportError) as info:
        require("robocritic_no_such_module.sub", "explicit", "computing an explicit MPC law")
    assert str(info.value) == (
        "computing an explicit MPC law needs robocritic_no_such_module: pip install 'robocritic[explicit]'"
    )
    assert isinstance(info.value.__cause__, ModuleNotFoundError)
