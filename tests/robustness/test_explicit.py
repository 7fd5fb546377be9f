"""Bad inputs of the explicit-MPC pipeline: specs (``explicit build``), law artefacts
(``ExplicitLaw.load``, ``explicit eval``) and states files (``explicit eval --states``).

Categories: ``specs`` (parser fuzz, infeasible / degenerate / oversized specs built end to end),
``laws`` (truncated, bit-flipped, edited, zip-bomb and non-artefact files), ``states`` (wrong
shape, non-finite, pickled, truncated or oversized ``.npy`` files). Builds use the smallest
specs (horizon 1-3, two states); the hypothesis cases that build a law run few examples.
"""

from __future__ import annotations

import copy
import io
import json
import os
import pickle
import re
import struct
import subprocess
import sys
import warnings
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from harness import bounded, expect_clear
from hypothesis import given, settings
from hypothesis import strategies as st
from robocritic.controllers.explicit_mpc import ExplicitLaw, UncheckedArtefactWarning
from robocritic.utils.npz_archive import MAX_LAW_BYTES

from robocritic.cli import main
from robocritic.dynamics import Box, LinearModel
from robocritic.yann.laws import saturated_linear_law
from robocritic.yann.spec import FIELDS, SpecError, parse_spec
from robocritic.yann.tools import build_explicit, evaluate_explicit

EXAMPLES = Path(__file__).parents[2] / "examples"
LONG = os.environ.get("HYPOTHESIS_PROFILE") == "long"
#: examples of a property that builds a law with PPOPT (the default profile stays quick)
BUILD_EXAMPLES = 24 if LONG else 6

PENDULUM: dict[str, Any] = yaml.safe_load((EXAMPLES / "pendulum.explicit.yaml").read_text())
# Every optional section present, so the parser fuzz can reach each of them.
FULL_SPEC: dict[str, Any] = {
    **yaml.safe_load((EXAMPLES / "double_integrator.explicit.yaml").read_text()),
    "horizon": 3, "x0_domain": {"low": [-5, -5], "high": [5, 5]}, "x_eq": [0, 0], "u_eq": [0],
}


def _law() -> ExplicitLaw:
    """A 3-region law on two states, closed form (no PPOPT)."""
    model = LinearModel(A=[[1.0, 0.1], [0.0, 1.0]], B=[[0.0], [0.1]], dt=0.1, x_eq=[0.5, 0.0], u_eq=[0.0],
                        state_box=Box.symmetric([2.0, 3.0]), input_box=Box.symmetric([1.0]))
    return saturated_linear_law(model, np.array([[1.0, 0.5]]))


def _same_law(a: ExplicitLaw, b: ExplicitLaw) -> bool:
    arrays = ("E", "f", "region_ptr", "K", "r", "domain_A", "domain_b", "domain_low", "domain_high", "x_eq",
              "u_eq", "u_low", "u_high")
    return (all(np.array_equal(getattr(a, n), getattr(b, n)) for n in arrays) and a.dt == b.dt
            and a.metadata == b.metadata and a.state_names == b.state_names and a.input_names == b.input_names)


@pytest.fixture(scope="module")
def law_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return _law().save(tmp_path_factory.mktemp("law") / "good.npz").read_bytes()


def _members(data: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _npz(path: Path, arrays: dict[str, Any]) -> Path:
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)
    return path


def _fresh(tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    return tmp_path_factory.mktemp("case") / name


# -- laws ------------------------------------------------------------------------------------------


@given(cut=st.integers(min_value=0, max_value=10**6))
def test_truncated_law_names_the_file(law_bytes: bytes, tmp_path_factory: pytest.TempPathFactory, cut: int):
    path = _fresh(tmp_path_factory, "truncated-law.npz")
    path.write_bytes(law_bytes[: cut % len(law_bytes)])
    expect_clear("laws", lambda: ExplicitLaw.load(path), mentions="truncated-law.npz")


@given(position=st.integers(min_value=0, max_value=10**6), bit=st.integers(min_value=0, max_value=7))
def test_bit_flipped_law_is_refused_or_unchanged(law_bytes: bytes, tmp_path_factory: pytest.TempPathFactory,
                                                 position: int, bit: int):
    # A flip in a field zipfile ignores (timestamps, "version made by", attributes) is harmless; a
    # flip anywhere that matters must be caught (zip CRC, headers, digest). Accepted means unchanged.
    data = bytearray(law_bytes)
    data[position % len(data)] ^= 1 << bit
    path = _fresh(tmp_path_factory, "flipped-law.npz")
    path.write_bytes(bytes(data))
    loaded: list[ExplicitLaw] = []
    expect_clear("laws", lambda: loaded.append(ExplicitLaw.load(path)), mentions="flipped-law.npz", accept=True)
    if loaded:
        assert _same_law(loaded[0], _law()), "a bit flip changed the law and was not caught"


_FLOAT_MEMBERS = ("E", "f", "K", "r", "domain_A", "domain_b", "domain_low", "domain_high", "x_eq", "u_eq",
                  "u_low", "u_high", "dt")


@given(name=st.sampled_from(_FLOAT_MEMBERS), index=st.integers(min_value=0, max_value=10**6),
       delta=st.floats(min_value=1e-6, max_value=10.0))
def test_plausible_value_edit_fails_the_digest(law_bytes: bytes, tmp_path_factory: pytest.TempPathFactory,
                                               name: str, index: int, delta: float):
    # A well-formed archive with one value nudged: valid zip, valid arrays, plausible law.
    arrays = _members(law_bytes)
    edited = arrays[name].astype(np.float64).copy()
    flat = edited.reshape(-1)
    flat[index % flat.size] += delta
    arrays[name] = edited
    path = _npz(_fresh(tmp_path_factory, "edited-law.npz"), arrays)
    exc = expect_clear("laws", lambda: ExplicitLaw.load(path), mentions=f"field '{name}'")
    assert "edited-law.npz" in str(exc) and "SHA-256" in str(exc)


@pytest.mark.parametrize("member", ["region_ptr", "format_version", "state_names", "metadata", "digest"])
def test_other_edits_are_named(law_bytes: bytes, tmp_path: Path, member: str):
    arrays = _members(law_bytes)
    arrays[member] = {
        "region_ptr": np.array([0, 7, 12, 17]), "format_version": np.array(3), "state_names": np.array(["a", "b"]),
        "metadata": np.array('{"source": "edited"}'), "digest": np.array('{"sha256": {}}'),
    }[member]
    path = _npz(tmp_path / "edited-law.npz", arrays)
    exc = expect_clear("laws", lambda: ExplicitLaw.load(path), mentions="field '")
    assert "edited-law.npz" in str(exc)
    if member != "digest":
        assert member in str(exc)


def test_digest_covers_every_field(law_bytes: bytes):
    stored = json.loads(str(_members(law_bytes)["digest"]))["sha256"]
    assert set(stored) == set(_members(law_bytes)) - {"digest"}


def test_format_1_law_loads_with_a_warning(law_bytes: bytes, tmp_path: Path):
    # Written before the digest: documented as loaded unchecked, with a warning that says so.
    arrays = _members(law_bytes)
    arrays.pop("digest")
    arrays["format_version"] = np.array(1)
    path = _npz(tmp_path / "legacy-law.npz", arrays)
    with pytest.warns(UncheckedArtefactWarning, match="legacy-law.npz"):
        expect_clear("laws", lambda: ExplicitLaw.load(path), accept=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UncheckedArtefactWarning)
        assert _same_law(ExplicitLaw.load(path), _law())
    # Re-saving adds the digest: the next load is checked and silent.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UncheckedArtefactWarning)
        ExplicitLaw.load(path).save(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _same_law(ExplicitLaw.load(path), _law())


def _raw_zip(members: list[tuple[str, bytes, int, int]], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A zip of ``(name, stored bytes, crc, declared uncompressed size)`` members, headers as
    given: lets a test declare sizes that differ from the data (zipfile cannot write that)."""
    out, central = bytearray(), bytearray()
    for name, data, crc, size in members:
        offset = len(out)
        fname = name.encode()
        out += struct.pack("<4s2B4HL2L2H", b"PK\x03\x04", 20, 0, 0, method, 0, 0x21, crc, len(data), size,
                           len(fname), 0) + fname + data
        central += struct.pack("<4s4B4HL2L5H2L", b"PK\x01\x02", 20, 3, 20, 0, 0, method, 0, 0x21, crc, len(data),
                               size, len(fname), 0, 0, 0, 0, 0o644 << 16, offset) + fname
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members), len(central), len(out), 0)
    return bytes(out + central + end)


BOMB_BYTES = 512 * 2**20  # inflated size of the bomb: over MAX_LAW_BYTES and over the child's memory bound


@pytest.fixture(scope="module")
def bomb() -> tuple[bytes, int]:
    """A ``.npy`` member of ``BOMB_BYTES`` (header declaring that many float64 zeros), deflated to a
    few MB, and its CRC."""
    header = _npy_header("<f8", (BOMB_BYTES // 8,))
    comp = zlib.compressobj(1, zlib.DEFLATED, -15)
    chunk = bytes(2**20)
    parts, crc = [comp.compress(header)], zlib.crc32(header)
    for _ in range((BOMB_BYTES - len(header)) // len(chunk)):
        parts.append(comp.compress(chunk))
        crc = zlib.crc32(chunk, crc)
    parts.append(comp.flush())
    return b"".join(parts), crc


def _npy_header(descr: str, shape: tuple[int, ...], fortran: bool = False) -> bytes:
    text = repr({"descr": descr, "fortran_order": fortran, "shape": shape}).encode()
    pad = (64 - (10 + len(text) + 1) % 64) % 64
    text += b" " * pad + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text


def test_zip_bomb_is_refused_by_its_declared_size(bomb: tuple[bytes, int], tmp_path: Path):
    data, crc = bomb
    assert BOMB_BYTES > MAX_LAW_BYTES and len(data) < 8 * 2**20
    path = tmp_path / "bomb-law.npz"
    path.write_bytes(_raw_zip([("E.npy", data, crc, BOMB_BYTES)]))
    exc = expect_clear("laws", bounded(lambda: ExplicitLaw.load(path), memory_mb=256, seconds=30),
                       mentions="bomb-law.npz")
    assert "field 'E'" in str(exc) and "bound" in str(exc)


def test_zip_bomb_with_an_understated_size_stays_bounded(bomb: tuple[bytes, int], tmp_path: Path):
    # The header claims 4 KiB; inflating the whole stream would need BOMB_BYTES.
    data, crc = bomb
    path = tmp_path / "liar-law.npz"
    path.write_bytes(_raw_zip([("E.npy", data, crc, 4096)]))
    exc = expect_clear("laws", bounded(lambda: ExplicitLaw.load(path), memory_mb=256, seconds=30),
                       mentions="liar-law.npz")
    assert "field 'E'" in str(exc)


def test_total_declared_size_is_bounded(tmp_path: Path):
    # Each member under the bound, all of them over it.
    members = [(f"{name}.npy", b"", 0, MAX_LAW_BYTES // 2 + 1) for name in ("E", "f", "K")]
    path = tmp_path / "total-law.npz"
    path.write_bytes(_raw_zip(members, method=zipfile.ZIP_STORED))
    exc = expect_clear("laws", lambda: ExplicitLaw.load(path), mentions="total-law.npz")
    assert "in all" in str(exc)


@pytest.mark.parametrize("shape", [(10**12, 2), (2**62,), (-3, -2)])
def test_huge_declared_array_shape_is_refused_before_allocation(law_bytes: bytes, tmp_path: Path, shape):
    with zipfile.ZipFile(io.BytesIO(law_bytes)) as zf:
        members = [(info.filename, zf.read(info)) for info in zf.infolist()]
    members = [(n, _npy_header("<f8", shape) + bytes(16)) if n == "E.npy" else (n, d) for n, d in members]
    raw = _raw_zip([(n, d, zlib.crc32(d), len(d)) for n, d in members], method=zipfile.ZIP_STORED)
    path = tmp_path / "shape-law.npz"
    path.write_bytes(raw)
    exc = expect_clear("laws", bounded(lambda: ExplicitLaw.load(path), memory_mb=256, seconds=30),
                       mentions="shape-law.npz")
    assert "field 'E'" in str(exc)


def test_too_many_zip_entries_are_refused_before_parsing(tmp_path: Path):
    path = tmp_path / "entries-law.npz"
    with zipfile.ZipFile(path, "w") as zf:
        for i in range(200):
            zf.writestr(f"m{i}.npy", b"")
    exc = expect_clear("laws", lambda: ExplicitLaw.load(path), mentions="entries-law.npz")
    assert "200 entries" in str(exc)


def test_deep_nesting_is_refused_without_recursion_errors(law_bytes: bytes, tmp_path: Path):
    from robocritic.utils.npz_archive import field_digest

    arrays = _members(law_bytes)
    arrays["metadata"] = np.array("[" * 200_000 + "]" * 200_000)
    arrays["digest"] = np.array(json.dumps({"sha256": {k: field_digest(v) for k, v in arrays.items()
                                                       if k != "digest"}}))
    path = _npz(tmp_path / "deep-law.npz", arrays)
    expect_clear("laws", lambda: ExplicitLaw.load(path), mentions="field 'metadata'")
    # A .npy header nested past the parser's limit.
    d = b"\x93NUMPY\x01\x00"
    text = b"{'descr': '<f8', 'fortran_order': False, 'shape': " + b"(" * 3000 + b")" * 3000 + b"}"
    text += b" " * ((64 - (10 + len(text) + 1) % 64) % 64) + b"\n"
    member = d + struct.pack("<H", len(text)) + text
    path2 = tmp_path / "deep-header-law.npz"
    path2.write_bytes(_raw_zip([("E.npy", member, zlib.crc32(member), len(member))], method=zipfile.ZIP_STORED))
    expect_clear("laws", lambda: ExplicitLaw.load(path2), mentions="deep-header-law.npz")


_UNPICKLED: list[str] = []


def _mark() -> str:
    _UNPICKLED.append("ran")
    return "payload"


class _Payload:
    def __reduce__(self) -> tuple[Callable[[], str], tuple[()]]:
        return (_mark, ())


@pytest.mark.parametrize("kind", ["npy", "pickle", "text", "empty", "missing", "directory", "object member",
                                  "stored npz of the wrong members", "deflated npz"])
def test_non_artefacts_are_named(law_bytes: bytes, tmp_path: Path, kind: str):
    path = tmp_path / "not-a-law.npz"
    accept = False
    if kind == "npy":
        with open(path, "wb") as fh:
            np.save(fh, np.zeros(3))
    elif kind == "pickle":
        path.write_bytes(pickle.dumps(_Payload()))
    elif kind == "text":
        path.write_text("E: [1, 2]\n")
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "directory":
        path.mkdir()
    elif kind == "object member":
        arrays: dict[str, Any] = dict(_members(law_bytes))
        obj = np.empty(1, dtype=object)
        obj[0] = _Payload()
        arrays["metadata"] = obj
        with open(path, "wb") as fh:
            np.savez(fh, **arrays)  # np.savez pickles object arrays
    elif kind == "stored npz of the wrong members":
        _npz(path, {"weights": np.zeros(3)})
    elif kind == "deflated npz":  # np.savez_compressed of a good law: read, digest and all
        with open(path, "wb") as fh:
            np.savez_compressed(fh, **_members(law_bytes))
        accept = True
    expect_clear("laws", lambda: ExplicitLaw.load(path), mentions="not-a-law.npz", accept=accept)
    assert _UNPICKLED == []


def test_save_is_reproducible_bit_for_bit(tmp_path: Path):
    a = _law().save(tmp_path / "a.npz").read_bytes()
    os.utime(tmp_path / "a.npz", (0, 0))
    b = _law().save(tmp_path / "b.npz").read_bytes()
    assert a == b


# -- states ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def law_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _law().save(tmp_path_factory.mktemp("eval") / "law.npz")


def _eval(law_path: Path, states: Path) -> Callable[[], Any]:
    return lambda: evaluate_explicit(law_path, states, states.with_name("out.npz"), with_yann=False)


def _save_npy(path: Path, value: Any, allow_pickle: bool = False) -> Path:
    with open(path, "wb") as fh:
        np.save(fh, value, allow_pickle=allow_pickle)
    return path


@pytest.mark.parametrize("kind", ["wrong width", "3-D", "scalar", "no rows", "nan", "inf", "object", "complex",
                                  "structured", "strings", "npz", "empty file", "missing", "directory",
                                  "huge header shape", "negative header shape", "padded"])
def test_bad_states_files_name_the_file(law_path: Path, tmp_path: Path, kind: str):
    path = tmp_path / "bad-states.npy"
    good = np.zeros((4, 2))
    if kind == "wrong width":
        _save_npy(path, np.zeros((4, 3)))
    elif kind == "3-D":
        _save_npy(path, np.zeros((2, 2, 2)))
    elif kind == "scalar":
        _save_npy(path, np.float64(1.0))
    elif kind == "no rows":
        _save_npy(path, np.zeros((0, 2)))
    elif kind in ("nan", "inf"):
        good[2, 1] = np.nan if kind == "nan" else -np.inf
        _save_npy(path, good)
    elif kind == "object":
        obj = np.empty((1, 2), dtype=object)
        obj[0, 0] = _Payload()
        _save_npy(path, obj, allow_pickle=True)
    elif kind == "complex":
        _save_npy(path, good + 1j)
    elif kind == "structured":
        _save_npy(path, np.zeros(4, dtype=[("a", "<f8"), ("b", "<f8")]))
    elif kind == "strings":
        _save_npy(path, np.array([["1", "2"]]))
    elif kind == "npz":
        with open(path, "wb") as fh:
            np.savez(fh, states=good)
    elif kind == "empty file":
        path.write_bytes(b"")
    elif kind == "directory":
        path.mkdir()
    elif kind == "huge header shape":
        path.write_bytes(_npy_header("<f8", (10**12, 2)) + bytes(64))
    elif kind == "negative header shape":
        path.write_bytes(_npy_header("<f8", (-2, -2)) + bytes(32))
    elif kind == "padded":
        path.write_bytes(_save_npy(tmp_path / "ok.npy", good).read_bytes() + bytes(8))
    expect_clear("states", bounded(_eval(law_path, path), memory_mb=256, seconds=30), mentions="bad-states.npy")
    assert _UNPICKLED == []


@given(cut=st.integers(min_value=0, max_value=10**6))
def test_truncated_states_file_names_the_file(law_path: Path, tmp_path_factory: pytest.TempPathFactory, cut: int):
    full = _save_npy(_fresh(tmp_path_factory, "full.npy"), np.linspace(-1, 1, 40).reshape(20, 2)).read_bytes()
    path = _fresh(tmp_path_factory, "cut-states.npy")
    path.write_bytes(full[: cut % len(full)])
    expect_clear("states", _eval(law_path, path), mentions="cut-states.npy")


_DTYPES = st.sampled_from(["<f8", ">f8", "<f4", "<i8", "|u1", "|b1", "<f2"])


@given(shape=st.lists(st.integers(min_value=0, max_value=5), min_size=0, max_size=3),
       dtype=_DTYPES, fill=st.sampled_from([0.0, 1.5, -7.0, np.nan, np.inf, 1e300]), fortran=st.booleans())
def test_states_arrays_are_evaluated_or_named(law_path: Path, tmp_path_factory: pytest.TempPathFactory,
                                              shape: list[int], dtype: str, fill: float, fortran: bool):
    with np.errstate(invalid="ignore", over="ignore"):
        value = np.full(tuple(shape), fill).astype(dtype)
    if fortran:
        value = np.asfortranarray(value)
    path = _save_npy(_fresh(tmp_path_factory, "fuzz-states.npy"), value)
    as_float = value.astype(np.float64)
    ok = (as_float.ndim == 2 and as_float.shape[1:] == (2,) or as_float.shape == (2,)) and as_float.size > 0 \
        and bool(np.all(np.isfinite(as_float)))
    expect_clear("states", _eval(law_path, path), mentions="fuzz-states.npy", accept=ok)


def test_eval_command_reports_bad_laws_and_states(law_path: Path, tmp_path: Path, capsys):
    states = _save_npy(tmp_path / "states.npy", np.zeros((3, 2)))
    bad_law = tmp_path / "broken-law.npz"
    bad_law.write_bytes(law_path.read_bytes()[:-30])
    assert main(["explicit", "eval", str(bad_law), "--states", str(states), "--no-yann"]) == 2
    assert "broken-law.npz" in capsys.readouterr().err
    bad_states = tmp_path / "broken-states.npy"
    bad_states.write_bytes(states.read_bytes()[:-5])
    assert main(["explicit", "eval", str(law_path), "--states", str(bad_states), "--no-yann",
                 "--out", str(tmp_path / "o.npz")]) == 2
    assert "broken-states.npy" in capsys.readouterr().err


# -- specs: the parser ------------------------------------------------------------------------------

_LEAVES = st.one_of(
    st.none(), st.booleans(), st.text(max_size=6), st.integers(min_value=-(10**30), max_value=10**30),
    st.just(10**400), st.floats(allow_nan=True, allow_infinity=True), st.just(0), st.just(-1), st.just(1e300),
)
_VALUES = st.recursive(
    _LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["low", "high", "T", "t", "C", "x"]), inner, max_size=4),
    max_leaves=16,
)
_NESTED = {"state_bounds": ("low", "high"), "input_bounds": ("low", "high"), "x0_domain": ("low", "high"),
           "terminal_set": ("T", "t"), "output_constraint": ("C", "low", "high")}
_PATHS = sorted(FIELDS) + [f"{k}.{s}" for k, subs in _NESTED.items() for s in subs]


def _mutate(spec: dict[str, Any], path: str, op: str, value: Any) -> dict[str, Any]:
    spec = copy.deepcopy(spec)
    *parents, key = path.split(".")
    target = spec[parents[0]] if parents else spec
    if op == "delete":
        target.pop(key, None)
    elif op == "extra":
        target[f"{key}_extra"] = value
    else:
        target[key] = value
    return spec


def _names(message: str, path: str) -> bool:
    """The message names the top-level field (as a word) that the mutation touched."""
    field = path.split(".")[0]
    return re.search(rf"(?<![\w]){re.escape(field)}(?![\w])", message) is not None


@given(path=st.sampled_from(_PATHS), op=st.sampled_from(["set", "set", "set", "delete", "extra"]), value=_VALUES)
def test_spec_parser_fuzz_names_the_field(path: str, op: str, value: Any):
    spec = _mutate(FULL_SPEC, path, op, value)
    field = path.split(".")[0] if op != "extra" or "." in path else f"{path}_extra"
    exc = expect_clear("specs", bounded(lambda: parse_spec(spec), memory_mb=512, seconds=20),
                       errors=(SpecError,), mentions=field, accept=True)
    if exc is not None:
        assert _names(str(exc), field), f"{field} not named as a word: {exc}"


@given(n=st.sampled_from([0, 21, 25, 1000]), which=st.sampled_from(["A", "B", "horizon"]))
def test_oversized_specs_are_refused_quickly(n: int, which: str):
    spec = copy.deepcopy(PENDULUM)
    if which == "A":
        spec["A"] = [[1.0] * n for _ in range(n)]
    elif which == "B":
        spec["B"] = [[1.0] * n, [1.0] * n]
    else:
        spec["horizon"] = n * 10**6
    expect_clear("specs", bounded(lambda: parse_spec(spec), memory_mb=256, seconds=10), errors=(SpecError,),
                 mentions=which)


# -- specs: built end to end -----------------------------------------------------------------------


def _write_spec(folder: Path, spec: dict[str, Any], name: str = "case.explicit.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(spec))
    return path


def _build(spec_path: Path) -> Callable[[], Any]:
    return lambda: build_explicit(spec_path, spec_path.with_suffix(".npz"), verify_states=20)


_UNBUILDABLE = {
    "disjoint x0_domain": ({"x0_domain": {"low": [5, 5], "high": [6, 6]}}, "x0_domain"),
    "empty terminal set": ({"terminal_set": {"T": [[1, 0], [-1, 0]], "t": [-1, -1]}}, "terminal_set"),
    "terminal set outside the state bounds": ({"terminal_set": {"T": [[1, 0], [-1, 0]], "t": [-5, 6]}},
                                              "terminal_set"),
    "infeasible output constraint": ({"output_constraint": {"C": [[1, 0]], "low": [50], "high": [60]}},
                                     "output_constraint"),
    "horizon 200": ({"horizon": 200}, "horizon"),
    "huge horizon": ({"horizon": 10**12}, "horizon"),
    "ill-conditioned long horizon": ({"horizon": 90}, "horizon"),
    "tiny state bounds": ({"state_bounds": {"low": [-1e-9, -1e-9], "high": [1e-9, 1e-9]}}, "degenerate"),
    "tiny input bounds": ({"input_bounds": {"low": [-1e-12], "high": [1e-12]}}, "degenerate"),
    "Q = 1e300 I": ({"Q": [[1e300, 0], [0, 1e300]]}, "Q"),
    "too many states": ({"A": np.eye(30).tolist()}, "A"),
    "uncontrollable unstable mode": ({"A": [[1.5, 0], [0, 1.0]], "B": [[0.0], [1.0]]}, "terminal_cost"),
}


@pytest.mark.parametrize("case", list(_UNBUILDABLE))
def test_unbuildable_specs_say_what_is_wrong(tmp_path: Path, case: str):
    pytest.importorskip("ppopt")
    edits, named = _UNBUILDABLE[case]
    path = _write_spec(tmp_path, {**PENDULUM, **edits})
    exc = expect_clear("specs", bounded(_build(path), memory_mb=1024, seconds=60), errors=(SpecError,),
                       mentions=named)
    assert "case.explicit.yaml" in str(exc)


@settings(max_examples=BUILD_EXAMPLES)
@given(scale=st.sampled_from([1e-9, 1e-7, 1e-3, 1.0, 1e4]), horizon=st.integers(min_value=1, max_value=3),
       shift=st.floats(min_value=-20.0, max_value=20.0), q=st.sampled_from([1e-6, 1.0, 1e6]),
       terminal=st.booleans(), output=st.floats(min_value=-5.0, max_value=5.0))
def test_perturbed_specs_build_or_say_why(tmp_path_factory: pytest.TempPathFactory, scale: float, horizon: int,
                                          shift: float, q: float, terminal: bool, output: float):
    pytest.importorskip("ppopt")
    spec = copy.deepcopy(PENDULUM)
    spec.update(horizon=horizon, Q=[[q, 0.0], [0.0, 1.0]],
                state_bounds={"low": [-2 * scale, -8 * scale], "high": [2 * scale, 8 * scale]},
                x0_domain={"low": [shift - scale, -scale], "high": [shift + scale, scale]},
                output_constraint={"C": [[1.0, 0.5]], "low": [output - 1.0], "high": [output + 1.0]})
    if terminal:
        spec["terminal_set"] = {"T": [[1, 0], [-1, 0], [0, 1], [0, -1]], "t": [0.1, 0.1, 0.1, 0.1]}
    path = _write_spec(tmp_path_factory.mktemp("spec"), spec)
    expect_clear("specs", bounded(_build(path), memory_mb=1024, seconds=60), errors=(SpecError,),
                 mentions="case.explicit.yaml", accept=True)


def test_build_command_reports_an_infeasible_spec(tmp_path: Path, capsys):
    pytest.importorskip("ppopt")
    path = _write_spec(tmp_path, {**PENDULUM, "x0_domain": {"low": [5, 5], "high": [6, 6]}})
    assert main(["explicit", "build", str(path), "--out", str(tmp_path / "law.npz")]) == 2
    err = capsys.readouterr().err
    assert "case.explicit.yaml" in err and "infeasible" in err and "Traceback" not in err


def test_builds_are_reproducible_across_hash_seeds(tmp_path: Path):
    # PPOPT finds regions in an order that follows set iteration; the law is sorted canonically.
    pytest.importorskip("ppopt")
    code = ("import sys; from robocritic.yann.tools import build_explicit; "
            "build_explicit(sys.argv[1], sys.argv[2], verify_states=0)")
    spec = EXAMPLES / "pendulum.explicit.yaml"
    runs = []
    for seed in ("1", "2"):  # these two seeds gave different region orders before the fix
        out = tmp_path / f"law-{seed}.npz"
        env = {**os.environ, "PYTHONHASHSEED": seed}
        runs.append((subprocess.Popen([sys.executable, "-c", code, str(spec), str(out)], env=env,
                                      stderr=subprocess.PIPE), out))
    for proc, _ in runs:
        _, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err.decode()[-2000:]
    first, second = (out.read_bytes() for _, out in runs)
    assert first == second


def test_unbalanced_law_is_refused_before_padding(tmp_path: Path):
    # Valid and small on disk, but the gather form would pad 20,000 regions to 20,000 rows each.
    p, q = 20_000, 20_000
    box = (np.array([[1.0, 0.0]]), np.array([1.0]))
    big = (np.tile([[1.0, 0.0]], (q, 1)), np.ones(q))
    law = ExplicitLaw.from_regions([big] + [box] * (p - 1), K=np.zeros((p, 1, 2)), r=np.zeros((p, 1)),
                                   domain_A=np.array([[1.0, 0.0]]), domain_b=np.array([1.0]), domain_low=[-1, -1],
                                   domain_high=[1, 1], x_eq=[0, 0], u_eq=[0], u_low=[-1], u_high=[1], dt=0.1)
    path = law.save(tmp_path / "unbalanced-law.npz")
    states = _save_npy(tmp_path / "states.npy", np.zeros((2, 2)))
    exc = expect_clear("laws", bounded(_eval(path, states), memory_mb=512, seconds=30), mentions="padded facet table")
    assert "unbalanced-law.npz" in str(exc)
