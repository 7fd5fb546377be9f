"""Bad checkpoints and run folders (categories ``checkpoints`` and ``run_folders``).

Every loader stays weights-only (``torch.load(weights_only=True)``, ``np.load(allow_pickle=False)``)
and answers a damaged file with its documented error (:class:`CheckpointError`, a ``ValueError``)
naming the file and, for a structural mismatch, the key:

* truncated and bit-flipped ``.pt`` / ``.npz`` / ``.json`` files: refused by a digest or by the
  parser, or -- where a change leaves the content equal (a flip in zip padding, JSON whitespace)
  -- loaded with that same content; ``load_weights`` alone checks no digest (documented), so there
  a flip may load, but never crash, hang or run code;
* structurally valid but wrong contents (a missing or extra key, another shape or dtype, a config
  that does not fit its weights, an optimiser state of another layout, a malformed RNG state);
* pointer files (``latest.json``, ``actor.json``'s ``weights`` / ``law``) holding garbage, NaN,
  huge numbers, wrong types, or leading out of their folder (absolute paths, ``..``, symlinks);
* leftovers of interrupted saves and prunes: removed by the next save (only the store's own
  temporaries, never one in progress), never picked as the latest checkpoint;
* missing files of a run folder.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing as mp
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from harness import bounded, expect_clear
from hypothesis import given
from hypothesis import strategies as st

from robocritic.learning import checkpoint as ckpt_module
from robocritic.learning.buffer import ReplayBuffer
from robocritic.learning.checkpoint import (
    CheckpointError,
    CheckpointStore,
    file_sha256,
    load_weights,
    save_weights,
)

CKPT, RUNS = "checkpoints", "run_folders"

# -- helpers -----------------------------------------------------------------------------------


class Bundle(dict):
    """A fixture's contents, with a short repr (hypothesis prints the arguments of a failing case)."""

    def __repr__(self) -> str:
        return f"<{', '.join(self)}>"


@contextlib.contextmanager
def scratch(src: Path | None = None) -> Iterator[Path]:
    """A fresh folder (a copy of ``src``) for one hypothesis example (function-scoped fixtures
    are shared across examples)."""
    with tempfile.TemporaryDirectory() as d:
        dst = Path(d) / "x"
        if src is None:
            dst.mkdir()
        else:
            shutil.copytree(src, dst, symlinks=True)
        yield dst


def flip(data: bytes, at: int, bit: int) -> bytes:
    """``data`` with one bit flipped (``at`` wraps around)."""
    out = bytearray(data)
    out[at % len(out)] ^= 1 << bit
    return bytes(out)


def same(a: Any, b: Any) -> bool:
    """Deep equality of loaded contents (tensors and arrays by value)."""
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.dtype == b.dtype \
            and a.shape == b.shape and torch.equal(a, b)
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == b.dtype \
            and np.array_equal(a, b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def reseal(folder: Path, *, state: dict[str, Any] | None = None, meta: dict[str, Any] | None = None) -> None:
    """Rewrite a checkpoint folder's ``state.pt`` / ``meta.json`` with valid digests (a
    structurally wrong checkpoint that passes every integrity check)."""
    if state is not None:
        torch.save(state, folder / "state.pt")
    record = json.loads((folder / "meta.json").read_text()) if meta is None else dict(meta)
    record.pop("meta_sha256", None)
    if isinstance(record.get("files"), dict):
        record["files"] = {f: file_sha256(folder / f) if (folder / f).is_file() else d
                           for f, d in record["files"].items()}
    (folder / "meta.json").write_text(json.dumps({**record, "meta_sha256": ckpt_module._meta_digest(record)}))


def damaged_state_dicts(good: dict[str, torch.Tensor]) -> dict[str, tuple[Any, str]]:
    """Structurally wrong copies of ``good``: ``name -> (state dict, what the error must name)``."""
    first, last = next(iter(good)), list(good)[-1]
    wide = {k: v.clone() for k, v in good.items()}
    wide[first] = torch.zeros(*[s + 1 for s in good[first].shape], dtype=good[first].dtype)
    other = torch.float32 if good[first].dtype == torch.float64 else torch.float64
    return {
        "missing key": ({k: v for k, v in good.items() if k != last}, last),
        "extra key": ({**good, "bogus.weight": torch.zeros(2)}, "bogus.weight"),
        "wrong shape": (wide, first),
        "wrong dtype": ({**good, first: good[first].to(other)}, first),
        "not a tensor": ({**good, first: [1.0, 2.0]}, first),
        "not a dict": (torch.zeros(3), "must be a state dict"),
    }


# JSON values of every kind, with NaN, infinities and huge numbers.
JSON_SCALARS = (st.none() | st.booleans() | st.integers(-(10**30), 10**30)
                | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12)
                | st.sampled_from([10**400, -1, 0, float("nan"), float("inf"), "../x", "/etc/passwd", ""]))
JSON_VALUES = st.recursive(JSON_SCALARS, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=6)


# -- a checkpoint store --------------------------------------------------------------------


def _state(seed: int) -> dict[str, Any]:
    torch.manual_seed(seed)
    net = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(net.parameters())
    net(torch.ones(1, 3)).sum().backward()
    opt.step()
    return {"net": net.state_dict(), "opt": opt.state_dict(), "rng": torch.get_rng_state(), "n": seed}


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory) -> Path:
    """A store with checkpoints 2 and 3 (state.pt, meta.json, replay.npz) and latest.json."""
    directory = tmp_path_factory.mktemp("store") / "ck"
    store = CheckpointStore(directory, keep=2)
    buf = ReplayBuffer(8, 2, 1)
    for step in (1, 2, 3):
        buf.add(np.full(2, step), np.ones(1), float(step), np.zeros(2), False)
        store.save(step, _state(step), {"note": "x", "config": {"hidden": [8, 8], "lr": 1e-3}}, replay=buf.save)
    return directory


@pytest.fixture(scope="module")
def store_files(store_dir) -> dict[str, bytes]:
    folder = store_dir / "step_000000003"
    files = {name: (folder / name).read_bytes() for name in ("state.pt", "meta.json", "replay.npz")}
    return Bundle({**files, "latest.json": (store_dir / "latest.json").read_bytes()})


def _target(store: Path, name: str) -> Path:
    return store / name if name == "latest.json" else store / "step_000000003" / name


STORE_FILES = st.sampled_from(["state.pt", "meta.json", "replay.npz", "latest.json"])


@given(name=STORE_FILES, cut=st.floats(0.0, 0.999))
def test_a_truncated_checkpoint_file_is_named(store_dir, store_files, name, cut):
    with scratch(store_dir) as store:
        _target(store, name).write_bytes(store_files[name][: int(cut * len(store_files[name]))])
        expect_clear(CKPT, lambda: CheckpointStore(store).load(), errors=(CheckpointError,), mentions=name)


@given(name=STORE_FILES, at=st.integers(0, 10**6), bit=st.integers(0, 7))
def test_a_bit_flip_in_a_checkpoint_file_is_named_or_changes_nothing(store_dir, store_files, name, at, bit):
    good = CheckpointStore(store_dir).load()
    with scratch(store_dir) as store:
        _target(store, name).write_bytes(flip(store_files[name], at, bit))

        def load() -> None:
            got = CheckpointStore(store).load()
            # accepted only if what loads is the very checkpoint that was saved
            assert got.step == good.step and same(got.meta, good.meta) and same(got.state, good.state)

        expect_clear(CKPT, load, errors=(CheckpointError,), mentions=name, accept=True)


VALID_POINTERS = ({"checkpoint": "step_000000003", "step": 3}, {"checkpoint": "step_000000002", "step": 2})


@given(where=st.sampled_from(["whole", "checkpoint", "step", "extra"]), value=JSON_VALUES)
def test_pointer_garbage_is_refused_naming_latest_json(store_dir, where, value):
    pointer = {"whole": value, "checkpoint": {"checkpoint": value, "step": 3},
               "step": {"checkpoint": "step_000000003", "step": value},
               "extra": {"checkpoint": "step_000000003", "step": 3, "note": value}}[where]
    with scratch(store_dir) as store:
        (store / "latest.json").write_text(json.dumps(pointer, allow_nan=True))
        # a valid pointer loads; an extra key in the pointer is ignored
        valid = any(pointer == p and type(p["step"]) is type(pointer["step"]) for p in VALID_POINTERS)
        expect_clear(CKPT, lambda: CheckpointStore(store).load(), errors=(CheckpointError,),
                     mentions="latest.json", accept=valid or where == "extra")


@pytest.mark.parametrize("raw", [
    b"", b"\xff\xfe\x00garbage", b"[" * 100_000 + b"]" * 100_000, b'{"checkpoint": "step_000000003", "step": '
    + b"9" * 5000 + b"}", b'{"checkpoint": "step_000000003", "step": NaN}', b"1e999", b"null",
], ids=["empty", "not-utf8", "deeply-nested", "huge-int", "nan", "inf", "null"])
def test_pointer_bytes_that_are_not_a_pointer_are_named(store_dir, raw):
    with scratch(store_dir) as store:
        (store / "latest.json").write_bytes(raw)
        expect_clear(CKPT, bounded(lambda: CheckpointStore(store).load(), memory_mb=512, seconds=20),
                     errors=(CheckpointError,), mentions="latest.json")


def _escape_absolute(store: Path, outside: Path) -> None:
    (store / "latest.json").write_text(json.dumps({"checkpoint": str(store / "step_000000003"), "step": 3}))


def _escape_dotdot(store: Path, outside: Path) -> None:
    shutil.copytree(store / "step_000000003", outside / "step_000000003")
    (store / "latest.json").write_text(json.dumps({"checkpoint": "../outside/step_000000003", "step": 3}))


def _escape_symlinked_folder(store: Path, outside: Path) -> None:
    shutil.copytree(store / "step_000000003", outside / "step_000000009")
    reseal(outside / "step_000000009", meta={**json.loads((store / "step_000000003" / "meta.json").read_text()),
                                             "step": 9})
    (store / "step_000000009").symlink_to(outside / "step_000000009")
    (store / "latest.json").write_text(json.dumps({"checkpoint": "step_000000009", "step": 9}))


def _escape_symlinked_pointer(store: Path, outside: Path) -> None:
    (outside / "latest.json").write_text(json.dumps({"checkpoint": "step_000000003", "step": 3}))
    (store / "latest.json").unlink()
    (store / "latest.json").symlink_to(outside / "latest.json")


ESCAPES = {"absolute path": _escape_absolute, "dot-dot": _escape_dotdot,
           "symlinked folder": _escape_symlinked_folder, "symlinked pointer": _escape_symlinked_pointer}


@pytest.mark.parametrize("escape", list(ESCAPES))
def test_a_pointer_out_of_the_store_is_refused(store_dir, escape):
    with scratch(store_dir.parent) as root:
        store, outside = root / "ck", root / "outside"
        outside.mkdir()
        ESCAPES[escape](store, outside)
        expect_clear(RUNS, lambda: CheckpointStore(store).load(), errors=(CheckpointError,), mentions="latest.json")


@pytest.mark.parametrize("files, name", [
    ({"state.pt": None, "../../outside/state.pt": None}, "meta.json"),
    ({"state.pt": None, "/etc/hostname": None}, "meta.json"),
    ({"replay.npz": None}, "meta.json"),
    ("symlink", "state.pt"),
], ids=["dot-dot", "absolute", "no-state", "symlinked-state"])
def test_files_listed_in_meta_json_stay_in_the_folder(store_dir, files, name):
    with scratch(store_dir.parent) as root:
        folder = root / "ck" / "step_000000003"
        meta = json.loads((folder / "meta.json").read_text())
        if files == "symlink":
            (root / "state.pt").write_bytes((folder / "state.pt").read_bytes())
            (folder / "state.pt").unlink()
            (folder / "state.pt").symlink_to(root / "state.pt")  # same bytes, same digest: only the link is wrong
        else:
            meta["files"] = {f: meta["files"].get(f, "0" * 64) for f in files}
        reseal(folder, meta=meta)
        expect_clear(RUNS, lambda: CheckpointStore(root / "ck").load(), errors=(CheckpointError,), mentions=name)


@given(key=st.sampled_from(["format", "step", "files", "meta_sha256"]), value=JSON_VALUES)
def test_malformed_meta_json_fields_are_named(store_dir, key, value):
    with scratch(store_dir) as store:
        folder = store / "step_000000003"
        meta = json.loads((folder / "meta.json").read_text())
        original = meta.get(key)
        meta[key] = value
        try:  # with a valid digest, unless the value itself is the damage (or cannot be digested: NaN)
            if key == "meta_sha256":
                raise ValueError
            reseal(folder, meta=meta)
        except ValueError:
            (folder / "meta.json").write_text(json.dumps(meta, allow_nan=True))
        # formats 2 and 3 share the layout: a resealed format 2 is a valid checkpoint
        valid = same(value, original) or (key == "format" and type(value) is int and value in (2, 3))
        expect_clear(CKPT, lambda: CheckpointStore(store).load(), errors=(CheckpointError,), mentions="meta.json",
                     accept=valid)


@given(what=st.sampled_from(["flip", "truncate"]), at=st.integers(0, 10**6), bit=st.integers(0, 7))
def test_load_weights_fails_clearly_or_loads(store_files, what, at, bit):
    """``load_weights`` checks no digest (documented: the store, the critic and the NavDP model
    check theirs); on a damaged file it raises a named CheckpointError or loads a dict -- never
    another error, a hang or a blow-up."""
    raw = store_files["state.pt"]
    data = flip(raw, at, bit) if what == "flip" else raw[: at % len(raw)]
    with scratch() as d:
        (d / "w.pt").write_bytes(data)

        def load() -> None:
            assert isinstance(load_weights(d / "w.pt"), dict)

        expect_clear(CKPT, bounded(load, memory_mb=1024, seconds=30), errors=(CheckpointError,), mentions="w.pt",
                     accept=True)


# -- leftovers of interrupted saves and prunes ---------------------------------------------


def _dead_pid() -> int:
    proc = mp.get_context("fork").Process(target=lambda: None)
    proc.start()
    proc.join()
    return proc.pid


def test_stale_temporaries_are_removed_by_the_next_save_and_only_those(store_dir):
    with scratch(store_dir) as store:
        dead = _dead_pid()
        stale = [f".step_000000005.{dead}.abcd1234.tmp", ".step_000000004.abcd1234.tmp", ".ep_000004.zz9_k1x2.tmp",
                 f".step_000000001.{dead}.qwer5678.del", ".step_000000002.abcd1234.old"]
        for name in stale:
            (store / name).mkdir()
            (store / name / "state.pt").write_bytes(b"partial")
        (store / ".latest.json.abcd1234.tmp").write_text("{")
        in_flight = store / f".step_000000006.{os.getpid()}.abcd1234.tmp"
        live_other = store / f".step_000000007.{os.getppid()}.abcd1234.tmp"
        unrelated = [store / "notes.txt", store / ".step_000000003.backup", store / "step_000000003.tmp"]
        for path in (in_flight, live_other):
            path.mkdir()
        for path in unrelated:
            path.write_text("mine")
        ckpt_module._IN_FLIGHT.add(in_flight)
        try:
            CheckpointStore(store, keep=2).save(4, _state(4), {"note": "x"})
        finally:
            ckpt_module._IN_FLIGHT.discard(in_flight)
        left = {p.name for p in store.iterdir()}
        assert not left & {*stale, ".latest.json.abcd1234.tmp"}, left
        assert {in_flight.name, live_other.name} | {p.name for p in unrelated} <= left
        assert [p.name for p in CheckpointStore(store).folders()] == ["step_000000003", "step_000000004"]


def _killed(call: Callable[[], Any]) -> None:
    """Run ``call`` in a forked child that dies in it (``os._exit``: no cleanup, like a kill)."""
    proc = mp.get_context("fork").Process(target=call)
    proc.start()
    proc.join(60)
    assert proc.exitcode == 9, proc.exitcode


def test_a_killed_save_leaves_a_temporary_that_the_next_save_removes(store_dir):
    with scratch(store_dir) as store:
        def die(fh: Any) -> None:  # the replay is written after state.pt: a full state.pt is left behind
            os._exit(9)

        _killed(lambda: CheckpointStore(store).save(4, _state(4), {"note": "x"}, replay=die))
        leftovers = [p for p in store.iterdir() if p.name.startswith(".step_000000004.")]
        assert len(leftovers) == 1 and (leftovers[0] / "state.pt").is_file()
        assert CheckpointStore(store).load().step == 3  # the pointer still names the last good one
        CheckpointStore(store).save(4, _state(4), {"note": "x"})
        assert not [p for p in store.iterdir() if p.name.startswith(".")]
        assert CheckpointStore(store).load().step == 4
        count_safe(RUNS)


def test_a_killed_prune_never_leaves_a_half_deleted_checkpoint(store_dir, monkeypatch):
    with scratch(store_dir) as store:
        def rmtree_and_die(path: Any, *args: Any, **kwargs: Any) -> None:
            next(p for p in Path(path).iterdir()).unlink()  # one file gone, then killed
            os._exit(9)

        def save() -> None:
            monkeypatch.setattr(ckpt_module.shutil, "rmtree", rmtree_and_die)
            CheckpointStore(store, keep=2).save(4, _state(4), {"note": "x"})

        _killed(save)
        named = sorted(p.name for p in store.iterdir() if not p.name.startswith("."))
        assert named == ["latest.json", "step_000000003", "step_000000004"]  # step 2 is gone or trash
        assert [p.name for p in CheckpointStore(store).folders()] == ["step_000000003", "step_000000004"]
        assert CheckpointStore(store).load().step == 4
        CheckpointStore(store, keep=2).save(5, _state(5), {"note": "x"})
        assert not [p for p in store.iterdir() if p.name.startswith(".")]
        count_safe(RUNS)


def test_a_half_deleted_folder_of_an_earlier_version_is_never_latest_and_is_pruned(store_dir):
    with scratch(store_dir) as store:
        (store / "step_000000002" / "state.pt").unlink()  # rmtree of an earlier version, interrupted
        assert [p.name for p in CheckpointStore(store).folders()] == ["step_000000003"]
        (store / "latest.json").write_text(json.dumps({"checkpoint": "step_000000002", "step": 2}))
        expect_clear(RUNS, lambda: CheckpointStore(store).load(), errors=(CheckpointError,), mentions="state.pt")
        (store / "latest.json").write_text(json.dumps({"checkpoint": "step_000000003", "step": 3}))
        CheckpointStore(store, keep=2).save(4, _state(4), {"note": "x"})
        assert sorted(p.name for p in store.iterdir()) == ["latest.json", "step_000000003", "step_000000004"]


def count_safe(category: str) -> None:
    """Count a deterministic scenario whose documented safe behaviour the test asserted."""
    expect_clear(category, lambda: None, accept=True)


# -- structurally wrong checkpoints: NavDP -------------------------------------------------


@pytest.fixture(scope="module")
def navdp(tmp_path_factory) -> dict[str, Any]:
    from robocritic.navdp.checkpoint import load_model, save_model, save_training_state
    from robocritic.navdp.config import NavDPConfig
    from robocritic.navdp.model import NavDPNet

    cfg = NavDPConfig(depth_height=16, depth_width=16, patch_size=8, d_model=32, n_layers=2, n_heads=2,
                      n_waypoints=8, n_candidates=4, history=2)
    torch.manual_seed(0)
    model = NavDPNet(cfg)
    d = tmp_path_factory.mktemp("navdp")
    save_model(model, d / "model.pt")
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for p in model.parameters():
        p.grad = torch.ones_like(p)
    opt.step()
    save_training_state(d / "train", 5, model, opt, extra={"epoch": 1})
    return Bundle({"dir": d, "config": cfg, "model": load_model(d / "model.pt")})  # the model as saved


def _navdp_file(path: Path, state: Any, config: Any) -> None:
    """A model file whose digest matches its (wrong) contents; a state that cannot be digested
    gets the digest of no tensors (the loader refuses it before comparing)."""
    from robocritic.navdp import checkpoint as nc

    plain = state if isinstance(state, dict) and all(isinstance(v, torch.Tensor) for v in state.values()) else {}
    digest = nc._digest(nc.MODEL_FORMAT, nc._KIND, config, plain)
    save_weights(path, {"format": nc.MODEL_FORMAT, "kind": nc._KIND, "config": config, "state_dict": state,
                        "sha256": digest})


@pytest.mark.parametrize("damage", ["missing key", "extra key", "wrong shape", "wrong dtype", "not a tensor",
                                    "not a dict", "config of another size"])
def test_a_navdp_model_file_that_does_not_fit_names_the_file_and_key(navdp, tmp_path, damage):
    from robocritic.navdp.checkpoint import load_model

    good = {k: v.detach().clone() for k, v in navdp["model"].state_dict().items()}
    config = navdp["config"].to_dict()
    if damage == "config of another size":
        state, key = good, "state_dict"
        config = {**config, "d_model": 64, "n_heads": 4}
    else:
        state, key = damaged_state_dicts(good)[damage]
    _navdp_file(tmp_path / "model.pt", state, config)
    exc = expect_clear(CKPT, lambda: load_model(tmp_path / "model.pt"), errors=(CheckpointError,),
                       mentions="state_dict" if damage in ("not a tensor", "not a dict") else key)
    assert "model.pt" in str(exc)


@pytest.fixture(scope="module")
def navdp_bytes(navdp) -> bytes:
    return (navdp["dir"] / "model.pt").read_bytes()


@given(what=st.sampled_from(["flip", "truncate"]), at=st.integers(0, 10**6), bit=st.integers(0, 7))
def test_a_damaged_navdp_model_file_is_named_or_changes_nothing(navdp, navdp_bytes, what, at, bit):
    from robocritic.navdp.checkpoint import load_model

    data = flip(navdp_bytes, at, bit) if what == "flip" else navdp_bytes[: at % len(navdp_bytes)]
    with scratch() as d:
        (d / "model.pt").write_bytes(data)

        def load() -> None:
            assert same(load_model(d / "model.pt").state_dict(), navdp["model"].state_dict())

        expect_clear(CKPT, load, errors=(CheckpointError,), mentions="model.pt", accept=True)


def _adam_layout(opt_state: dict[str, Any], damage: str) -> dict[str, Any]:
    out = {"state": {k: dict(v) for k, v in opt_state["state"].items()},
           "param_groups": [dict(g) for g in opt_state["param_groups"]]}
    first = next(iter(out["state"]))
    if damage == "moment shape":
        out["state"][first]["exp_avg"] = torch.zeros(3, 3, 3)
    elif damage == "group size":
        out["param_groups"][0]["params"] = out["param_groups"][0]["params"][:-1]
    elif damage == "unknown parameter":
        out["state"][10**6] = out["state"][first]
    elif damage == "no param_groups":
        del out["param_groups"]
    return out


TRAINING_DAMAGE = ["model shape", "model dtype", "model missing key", "optimizer moment shape",
                   "optimizer group size", "optimizer unknown parameter", "optimizer no param_groups",
                   "torch_rng dtype", "torch_rng not a tensor", "extra not a dict", "no optimizer",
                   "config missing", "config of another size", "config not a mapping"]


@pytest.mark.parametrize("damage", TRAINING_DAMAGE)
def test_a_navdp_training_state_that_does_not_fit_names_the_file_and_key(navdp, tmp_path, damage):
    from robocritic.navdp.checkpoint import load_training_state

    src = CheckpointStore(navdp["dir"] / "train").latest()
    folder = tmp_path / "train" / src.name
    shutil.copytree(src.parent, tmp_path / "train", dirs_exist_ok=True)
    state = load_weights(folder / "state.pt")
    meta = json.loads((folder / "meta.json").read_text())
    part, _, what = damage.partition(" ")
    if part == "model":
        state["model"], key = damaged_state_dicts(state["model"])[{"shape": "wrong shape", "dtype": "wrong dtype"}
                                                                  .get(what, what)]
    elif part == "optimizer":
        state["optimizer"], key = _adam_layout(state["optimizer"], what), "optimizer"
    elif part == "torch_rng":
        state["torch_rng"], key = (state["torch_rng"].float() if what == "dtype" else [1, 2]), "torch_rng"
    elif part == "extra":
        state["extra"], key = [1], "extra"
    elif part == "no":
        del state["optimizer"]
        key = "optimizer"
    else:
        key = "config"
        if what == "missing":
            del meta["config"]
        else:
            meta["config"] = [1] if what == "not a mapping" else {**meta["config"], "d_model": 64, "n_heads": 4}
    reseal(folder, state=state, meta=meta)
    exc = expect_clear(CKPT, lambda: load_training_state(tmp_path / "train", lambda p: torch.optim.Adam(p)),
                       errors=(CheckpointError,), mentions=key)
    assert ("meta.json" if part == "config" else "state.pt") in str(exc)  # (a config of another size: both)


# -- structurally wrong checkpoints: Bresa critic, export, ONNX, resumes --------------------


@pytest.fixture(scope="module")
def bresa(tmp_path_factory) -> dict[str, Any]:
    from robocritic.bresa.critic import SafetyCritic, save_critic
    from robocritic.bresa.export import export_critic
    from robocritic.bresa.onnx_critic import export_onnx_critic

    d = tmp_path_factory.mktemp("bresa")
    critic = SafetyCritic(4, (8,), seed=0)
    save_critic(critic, d / "critic.pt")
    names = ["a", "b", "c", "u"]
    export_critic(critic, names, d / "critic.npz")
    export_onnx_critic(critic, d / "critic.onnx", feature_names=names)
    files = {n: (d / n).read_bytes() for n in ("critic.pt", "critic.json", "critic.npz", "critic.onnx")}
    return Bundle({"dir": d, "critic": critic, "files": Bundle(files)})


@pytest.mark.parametrize("damage", ["missing key", "extra key", "wrong shape", "wrong dtype", "not a tensor",
                                    "not a dict", "no state_dict", "spec of another size", "spec far too large"])
def test_a_bresa_critic_that_does_not_fit_names_the_file_and_key(bresa, tmp_path, damage):
    from robocritic.bresa.critic import load_critic

    good = {k: v.clone() for k, v in bresa["critic"].state_dict().items()}
    side = json.loads(bresa["files"]["critic.json"])
    if damage.startswith("spec"):
        weights, key = {"state_dict": good}, "state_dict"
        side["spec"] = {**side["spec"], "n_in": 10**12 if damage.endswith("large") else 5}
    elif damage == "no state_dict":
        weights, key = {"weights": good}, "state_dict"
    else:
        state, key = damaged_state_dicts(good)[damage]
        weights, key = {"state_dict": state}, ("state_dict" if damage.startswith("not") else key)
    save_weights(tmp_path / "critic.pt", weights)
    (tmp_path / "critic.json").write_text(json.dumps({**side, "sha256": file_sha256(tmp_path / "critic.pt")}))
    exc = expect_clear(CKPT, bounded(lambda: load_critic(tmp_path / "critic.pt"), memory_mb=1024),
                       errors=(CheckpointError,), mentions=key)
    assert "critic.pt" in str(exc)


@given(name=st.sampled_from(["critic.pt", "critic.npz", "critic.onnx"]), what=st.sampled_from(["flip", "truncate"]),
       at=st.integers(0, 10**6), bit=st.integers(0, 7))
def test_a_damaged_critic_file_is_named_or_changes_nothing(bresa, name, what, at, bit):
    from robocritic.bresa.critic import load_critic
    from robocritic.bresa.export import load_exported
    from robocritic.bresa.onnx_critic import load_onnx_critic

    raw = bresa["files"][name]
    x = np.linspace(-1.0, 1.0, 4)
    with scratch(bresa["dir"]) as d:
        (d / name).write_bytes(flip(raw, at, bit) if what == "flip" else raw[: at % len(raw)])

        def load() -> None:
            if name == "critic.pt":
                assert same(load_critic(d / name).state_dict(), bresa["critic"].state_dict())
            elif name == "critic.npz":
                critic, names = load_exported(d / name)
                want, _ = load_exported(bresa["dir"] / name)
                assert names == ("a", "b", "c", "u") and np.array_equal(critic.evaluate(x), want.evaluate(x))
            else:
                load_onnx_critic(d / name)

        errors = (CheckpointError,) if name == "critic.pt" else (ValueError,)
        expect_clear(CKPT, load, errors=errors, mentions=name, accept=True)


@given(key=st.sampled_from(["format", "kind", "spec", "sha256", "feature_names", "n_in", "dtype"]),
       value=JSON_VALUES, sidecar=st.sampled_from(["critic.json", "critic.onnx.json"]))
def test_critic_sidecar_garbage_is_named(bresa, key, value, sidecar):
    from robocritic.bresa.critic import load_critic
    from robocritic.bresa.onnx_critic import load_onnx_critic, onnx_sidecar

    path = bresa["dir"] / "critic.pt" if sidecar == "critic.json" else bresa["dir"] / "critic.onnx"
    side_path = path.with_suffix(".json") if sidecar == "critic.json" else onnx_sidecar(path)
    side = json.loads(side_path.read_text())
    with scratch(bresa["dir"]) as d:
        target = d / side_path.name
        target.write_text(json.dumps({**side, key: value}, allow_nan=True))
        load = (lambda: load_critic(d / "critic.pt")) if sidecar == "critic.json" else \
            (lambda: load_onnx_critic(d / "critic.onnx"))
        # a key the sidecar does not have is ignored; feature names are free text, as many as inputs
        accept = key not in side or same(side[key], value) or (
            key == "feature_names" and isinstance(value, list) and len(value) == 4
            and all(isinstance(v, str) for v in value))
        expect_clear(CKPT, load, errors=(ValueError,), mentions=[target.name, path.name], accept=accept)


def _dataset(episodes: int = 4, ticks: int = 40) -> Any:
    from robocritic.bresa.collect import CriticDataset

    rng = np.random.default_rng(0)
    n = episodes * ticks
    return CriticDataset(state=rng.normal(size=(n, 3)), action=rng.normal(size=(n, 1)),
                         cost=(rng.random(n) < 0.2).astype(np.float64), episode=np.repeat(np.arange(episodes), ticks),
                         truncated=np.ones(episodes, dtype=bool), seeds=np.arange(episodes),
                         force_filtered=rng.normal(size=n), feature_names=("a", "b", "c", "u"))


@pytest.mark.parametrize("damage", ["critic shape", "critic missing", "losses too short", "losses not numbers"])
def test_a_bresa_training_checkpoint_that_does_not_fit_names_the_file_and_key(tmp_path, damage):
    from robocritic.bresa.train import train_critic

    ds = _dataset()
    run = {"hidden": (8,), "seed": 0, "val_fraction": 0.25, "horizon_ms": 2.0, "checkpoint_dir": tmp_path / "ck"}
    train_critic(ds, epochs=2, **run)
    folder = CheckpointStore(tmp_path / "ck").latest()
    state, meta = load_weights(folder / "state.pt"), json.loads((folder / "meta.json").read_text())
    if damage == "critic shape":
        state["critic"], key = damaged_state_dicts(state["critic"])["wrong shape"]
    elif damage == "critic missing":
        state, key = {}, "critic"
    else:
        meta["train_loss"], key = ([0.5] if damage.endswith("short") else ["x", None]), "train_loss"
    reseal(folder, state=state, meta=meta)
    expect_clear(CKPT, lambda: train_critic(ds, epochs=3, **run), errors=(CheckpointError,), mentions=key)


# -- run folders: YANN-RL and Bresa task policies -------------------------------------------


@pytest.fixture(scope="module")
def yann_runs(tmp_path_factory, tiny_pendulum_config) -> dict[str, Any]:
    """Finished ``ddpg`` and ``yann_ddpg`` runs and a ``ddpg`` run stopped after one episode."""
    from robocritic.yann.runner import train

    d = tmp_path_factory.mktemp("yann")
    cfg = tiny_pendulum_config(d, episodes=2, max_episode_steps=20, n_test=2, validation_states=(),
                               yann_ddpg={"actor_hidden": (8,), "critic_hidden": (8,)},
                               ddpg={"actor_hidden": (8,), "critic_hidden": (8,)})
    for algorithm in ("ddpg", "yann_ddpg"):
        train(cfg, algorithm, 0, d / algorithm, progress=False, tensorboard=False)
    train(cfg, "ddpg", 0, d / "part", progress=False, tensorboard=False, stop_after=1)
    return Bundle({"dir": d, "config": cfg})


def _load_policy(run: Path) -> Callable[[], Any]:
    from robocritic.yann.policy_io import load_policy

    return lambda: load_policy(run)


@pytest.mark.parametrize("missing", ["actor.json", "actor.pt", "law.npz", "metrics.json"])
def test_a_missing_file_of_a_run_folder_is_named(yann_runs, tmp_path, missing):
    from robocritic.learning.runs import RunFolder

    run = tmp_path / "run"
    shutil.copytree(yann_runs["dir"] / "yann_ddpg", run)
    (run / missing).unlink()
    call = (lambda: RunFolder(run).read_metrics()) if missing == "metrics.json" else _load_policy(run)
    expect_clear(RUNS, call, errors=(ValueError,), mentions=missing)


SIDECAR_KEYS = ["format", "algorithm", "seed", "config", "weights", "plant", "observation", "law", "versions",
                "weights_sha256", "kind", "env_id"]


@given(key=st.sampled_from(SIDECAR_KEYS), value=JSON_VALUES)
def test_actor_json_garbage_is_named(yann_runs, key, value):
    src = yann_runs["dir"] / "yann_ddpg"
    side = json.loads((src / "actor.json").read_text())
    if key == "plant" and value is None:
        value = []  # a null plant is the format-1 sidecar: it loads through the env (its own test)
    with scratch(src) as run:
        (run / "actor.json").write_text(json.dumps({**side, key: value}, allow_nan=True))
        # informational fields take any value of their type; the same value is no change; a sidecar
        # of format 1 with a plant loads like format 2; one without a weights digest loads unchecked
        free = {"seed": int, "kind": str, "env_id": str}
        accept = same(side.get(key), value) or (key in free and type(value) is free[key]) or (
            key == "format" and value == 1 and type(value) is int) or (
            key in ("versions", "weights_sha256") and value is None)
        if key == "versions" and isinstance(value, dict):
            accept = all(isinstance(v, str) for v in value.values())
        names = ["actor.json", "actor.pt", "law.npz"] + ([value] if isinstance(value, str) and value else [])
        expect_clear(RUNS, bounded(_load_policy(run), memory_mb=1024), errors=(ValueError,), mentions=names,
                     accept=accept)


@pytest.mark.parametrize("key, value", [("weights", "/etc/hostname"), ("weights", "../ddpg/actor.pt"),
                                        ("weights", "sub/actor.pt"), ("weights", ".."), ("law", "../yann_ddpg/law.npz"),
                                        ("law", "/tmp/law.npz"), ("weights", "link.pt"), ("law", "link.npz")])
def test_a_run_file_pointer_out_of_the_run_folder_is_refused(yann_runs, key, value):
    with scratch(yann_runs["dir"]) as root:
        run = root / "yann_ddpg"
        outside = root / "ddpg"
        (run / "link.pt").symlink_to(outside / "actor.pt")
        (run / "link.npz").symlink_to(run.parent / "law.npz")
        side = json.loads((run / "actor.json").read_text())
        (run / "actor.json").write_text(json.dumps({**side, key: value, "weights_sha256": None}))
        expect_clear(RUNS, _load_policy(run), errors=(CheckpointError,), mentions="actor.json")


@given(what=st.sampled_from(["flip", "truncate"]), at=st.integers(0, 10**6), bit=st.integers(0, 7))
def test_a_damaged_actor_pt_is_named(yann_runs, what, at, bit):
    src = yann_runs["dir"] / "ddpg"
    raw = (src / "actor.pt").read_bytes()
    with scratch(src) as run:
        (run / "actor.pt").write_bytes(flip(raw, at, bit) if what == "flip" else raw[: at % len(raw)])
        expect_clear(RUNS, _load_policy(run), errors=(CheckpointError,), mentions="actor.pt")


@pytest.mark.parametrize("damage", ["missing key", "extra key", "wrong shape", "wrong dtype", "not a tensor",
                                    "not a dict"])
def test_policy_weights_that_do_not_fit_name_the_file_and_key(yann_runs, tmp_path, damage):
    run = tmp_path / "run"
    shutil.copytree(yann_runs["dir"] / "ddpg", run)
    state = load_weights(run / "actor.pt")
    actor, key = damaged_state_dicts(state["actor"])[damage]
    save_weights(run / "actor.pt", {**state, "actor": actor})
    side = json.loads((run / "actor.json").read_text())
    (run / "actor.json").write_text(json.dumps({**side, "weights_sha256": file_sha256(run / "actor.pt")}))
    exc = expect_clear(RUNS, _load_policy(run), errors=(CheckpointError,), mentions=key)
    assert "actor.pt" in str(exc)


@given(key=st.sampled_from(["seed", "episodes_done", "curve", "eval_curve", "test_before", "selection",
                            "training_violations", "versions", "env_id"]), value=JSON_VALUES)
def test_metrics_json_garbage_is_named(yann_runs, key, value):
    from robocritic.learning.runs import RunFolder

    src = yann_runs["dir"] / "ddpg"
    metrics = json.loads((src / "metrics.json").read_text())
    with scratch(src) as run:
        (run / "metrics.json").write_text(json.dumps({**metrics, key: value}, allow_nan=True))
        kinds = {"seed": int, "episodes_done": int, "training_violations": int, "env_id": str}
        accept = same(metrics[key], value) or (key in kinds and type(value) is kinds[key]) or (
            key in ("versions", "selection", "test_before") and value is None) or (
            key == "versions" and isinstance(value, dict) and all(isinstance(v, str) for v in value.values()))
        expect_clear(RUNS, lambda: RunFolder(run).read_metrics(), errors=(CheckpointError,), mentions="metrics.json",
                     accept=accept)


def test_resume_refuses_a_damaged_checkpoint_by_name(yann_runs, tmp_path):
    """The YANN-RL runner resumes through the store: a damaged newest checkpoint is refused by name,
    never skipped for an older one (no silent fallback: the module docstring of the store)."""
    from robocritic.yann.runner import train

    run = tmp_path / "part"
    shutil.copytree(yann_runs["dir"] / "part", run)
    latest = CheckpointStore(run / "checkpoints").latest()
    (latest / "state.pt").write_bytes((latest / "state.pt").read_bytes()[:100])
    expect_clear(RUNS, lambda: train(yann_runs["config"], "ddpg", 0, run, progress=False, tensorboard=False),
                 errors=(CheckpointError,), mentions="state.pt")
    (run / "checkpoints" / "latest.json").write_text('{"checkpoint": "../../elsewhere", "step": 1}')
    expect_clear(RUNS, lambda: train(yann_runs["config"], "ddpg", 0, run, progress=False, tensorboard=False),
                 errors=(CheckpointError,), mentions="latest.json")


@pytest.fixture(scope="module")
def task_runs(tmp_path_factory) -> dict[str, Any]:
    """A Bresa task-level SAC run stopped after one episode, and a finished one."""
    from robocritic.bresa.hierarchy import HierarchyConfig
    from robocritic.bresa.task_env import TaskEnvConfig
    from robocritic.bresa.task_rl import TaskRLConfig, train_task_policy

    env = TaskEnvConfig(hierarchy=HierarchyConfig(decision_ticks=25), reward_scale=1e-3, violation_penalty=10.0,
                        env_kwargs={"max_episode_steps": 100, "contact_stiffness_range": (0.5, 2.0)})
    cfg = TaskRLConfig(env=env, episodes=2, checkpoint_every=1, learning_starts=2, batch_size=4, net_arch=(8,),
                       buffer_size=200)
    d = tmp_path_factory.mktemp("task")
    train_task_policy(cfg, 0, d / "part", stop_after=1, progress=False, tensorboard=False)
    train_task_policy(cfg, 0, d / "done", progress=False, tensorboard=False)
    return Bundle({"dir": d, "config": cfg})


def _replay(folder: Path, field: str, value: Callable[[np.ndarray], np.ndarray]) -> None:
    with np.load(folder / "replay.npz") as z:
        arrays = dict(z)
    arrays[field] = value(arrays[field])
    np.savez(folder / "replay.npz", **arrays)


def _state_edit(key: str, value: Callable[[Any], Any]) -> Callable[[dict, dict, Path], None]:
    def edit(state: dict, meta: dict, folder: Path) -> None:
        state[key] = value(state[key])
    return edit


def _meta_edit(key: str, value: Any) -> Callable[[dict, dict, Path], None]:
    def edit(state: dict, meta: dict, folder: Path) -> None:
        meta[key] = value
    return edit


# damage -> (edit of state.pt / meta.json / the folder, the key named, the file named)
TASK_DAMAGE: dict[str, tuple[Callable[[dict, dict, Path], None], str, str]] = {
    "policy shape": (_state_edit("policy", lambda s: damaged_state_dicts(s)["wrong shape"][0]), "policy", "state.pt"),
    "policy missing": (lambda state, meta, folder: state.pop("policy"), "policy", "state.pt"),
    "actor optimiser moments": (_state_edit("actor_optimizer", lambda s: _adam_layout(s, "moment shape")),
                                "actor_optimizer", "state.pt"),
    "critic optimiser groups": (_state_edit("critic_optimizer", lambda s: _adam_layout(s, "group size")),
                                "critic_optimizer", "state.pt"),
    "torch_rng dtype": (_state_edit("torch_rng", lambda s: s.float()), "torch_rng", "state.pt"),
    "replay pos": (lambda state, meta, folder: _replay(folder, "pos", lambda a: np.int64(10**9)), "pos", "replay.npz"),
    "replay field": (lambda state, meta, folder: _replay(folder, "actions", lambda a: a[..., :1]), "actions",
                     "replay.npz"),
    "num_timesteps": (_meta_edit("num_timesteps", -5), "num_timesteps", "meta.json"),
    "metrics": (_meta_edit("metrics", {"bogus": 1}), "metrics", "meta.json"),
    "numpy_global_rng": (_meta_edit("numpy_global_rng", [1, 2]), "numpy_global_rng", "meta.json"),
    "action_space_rng": (_meta_edit("action_space_rng", {"bit_generator": "nope"}), "action_space_rng", "meta.json"),
    "interventions": (_meta_edit("interventions", "x"), "interventions", "meta.json"),
}


@pytest.mark.parametrize("damage", list(TASK_DAMAGE))
def test_a_task_rl_checkpoint_that_does_not_fit_names_the_file_and_key(task_runs, tmp_path, damage):
    from robocritic.bresa.task_rl import train_task_policy

    run = tmp_path / "part"
    shutil.copytree(task_runs["dir"] / "part", run)
    folder = CheckpointStore(run / "checkpoints").latest()
    state, meta = load_weights(folder / "state.pt"), json.loads((folder / "meta.json").read_text())
    edit, key, where = TASK_DAMAGE[damage]
    edit(state, meta, folder)
    reseal(folder, state=state, meta=meta)
    exc = expect_clear(CKPT, lambda: train_task_policy(task_runs["config"], 0, run, progress=False,
                                                       tensorboard=False),
                       errors=(CheckpointError,), mentions=key)
    assert where in str(exc)


@pytest.mark.parametrize("edit", ["weights out", "weights symlink out", "policy shape", "hierarchy garbage",
                                  "net_arch garbage", "task_rl.json garbage"])
def test_a_damaged_task_policy_run_folder_is_named(task_runs, tmp_path, edit):
    from robocritic.bresa.task_rl import load_task_policy, train_task_policy

    run = tmp_path / "done"
    shutil.copytree(task_runs["dir"] / "done", run)
    side = json.loads((run / "actor.json").read_text())
    name = "actor.json"
    if edit == "weights out":
        side["weights"] = "../part/actor.pt"
    elif edit == "weights symlink out":
        (tmp_path / "actor.pt").write_bytes((run / "actor.pt").read_bytes())
        (run / "link.pt").symlink_to(tmp_path / "actor.pt")
        side["weights"] = "link.pt"
    elif edit == "policy shape":
        state = load_weights(run / "actor.pt")
        policy, _ = damaged_state_dicts(state["policy"])["wrong shape"]
        save_weights(run / "actor.pt", {**state, "policy": policy})
        side["weights_sha256"], name = file_sha256(run / "actor.pt"), "actor.pt"
    elif edit == "hierarchy garbage":
        side["config"] = {**side["config"], "env": {"hierarchy": {"bogus": 1}}}
    elif edit == "net_arch garbage":
        side["config"] = {**side["config"], "net_arch": [10**40]}
    (run / "actor.json").write_text(json.dumps(side))
    if edit == "task_rl.json garbage":
        (run / "task_rl.json").write_text('{"interventions": 3}')
        call, name = (lambda: train_task_policy(task_runs["config"], 0, run, progress=False, tensorboard=False),
                      "task_rl.json")
    else:
        call = lambda: load_task_policy(run)
    expect_clear(RUNS, call, errors=(CheckpointError,), mentions=name)


# -- the DDPG trainer's own resume ----------------------------------------------------------


@pytest.mark.parametrize("damage", ["learner missing", "learner actor shape"])
def test_a_ddpg_checkpoint_that_does_not_fit_names_the_file_and_key(yann_runs, tmp_path, damage):
    from robocritic.yann.runner import train

    run = tmp_path / "part"
    shutil.copytree(yann_runs["dir"] / "part", run)
    folder = CheckpointStore(run / "checkpoints").latest()
    state = load_weights(folder / "state.pt")
    if damage == "learner missing":
        del state["learner"]
        key = "learner"
    else:
        state["learner"]["actor"], key = damaged_state_dicts(state["learner"]["actor"])["wrong shape"]
    reseal(folder, state=state)
    expect_clear(CKPT, lambda: train(yann_runs["config"], "ddpg", 0, run, progress=False, tensorboard=False),
                 errors=(CheckpointError,), mentions=key)
