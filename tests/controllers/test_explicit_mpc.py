"""Unit tests for robocritic.controllers.explicit_mpc: the law artefact and the numpy controller.

Hand-built laws only (no PPOPT): a 1-D saturated law whose regions cover part of the domain, and
a 2-D law with badly scaled facet rows. Laws computed by PPOPT are tested in tests/yann/.
"""

from __future__ import annotations

import json
import logging
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
from robocritic.controllers.explicit_mpc import FORMAT_VERSION, ExplicitLaw, ExplicitMPC
from robocritic.utils.npz_archive import field_digest

from robocritic.interfaces import Controller

GAIN = 0.5  # the unsaturated law u = -GAIN x saturates at |x| = 2


def saturated_law(x_eq: float = 0.0, u_eq: float = 0.0) -> ExplicitLaw:
    """1-D law on [-5, 5] (feasible set) inside the domain [-10, 10], input box |u| <= 1:
    u = +1 on [-5, -2], u = -0.5 x on [-2, 2], u = -1 on [2, 5]."""
    regions = [
        (np.array([[1.0], [-1.0]]), np.array([-2.0, 5.0])),  # -5 <= x <= -2
        (np.array([[1.0], [-1.0]]), np.array([2.0, 2.0])),  # -2 <= x <= 2
        (np.array([[1.0], [-1.0]]), np.array([5.0, -2.0])),  # 2 <= x <= 5
    ]
    return ExplicitLaw.from_regions(
        regions, K=np.array([[[0.0]], [[-GAIN]], [[0.0]]]), r=np.array([[1.0], [0.0], [-1.0]]),
        domain_A=np.array([[1.0], [-1.0]]), domain_b=np.array([10.0, 10.0]),
        domain_low=[-10.0], domain_high=[10.0], x_eq=[x_eq], u_eq=[u_eq],
        u_low=[-1.0], u_high=[1.0], dt=0.1, state_names=("x",), input_names=("u",),
        metadata={"horizon": 1, "source": "hand-built", "Q": [[1.0]]},
    )


def scaled_square_law(scale: float) -> ExplicitLaw:
    """2-D law on the square |x_i| <= 1 split along x_0 = 0; region 0's rows are multiplied by
    ``scale`` (same set), so margins must not depend on it."""
    rows = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    left = (scale * rows, scale * np.array([0, 1, 1, 1.0]))
    right = (np.array([[-1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, -1.0]]), np.array([0, 1, 1, 1.0]))
    K = np.array([[[1.0, 2.0]], [[1.0, 2.0]]])
    return ExplicitLaw.from_regions(
        [left, right], K=K, r=np.zeros((2, 1)),
        domain_A=np.vstack([np.eye(2), -np.eye(2)]), domain_b=np.full(4, 3.0),
        domain_low=[-3.0, -3.0], domain_high=[3.0, 3.0], x_eq=[0.0, 0.0], u_eq=[0.0],
        u_low=[-10.0], u_high=[10.0], dt=1.0,
    )


# -- the artefact -----------------------------------------------------------------------------


def test_law_shapes_and_region_access():
    law = saturated_law()
    assert (law.n_regions, law.n_x, law.n_u, law.n_rows) == (3, 1, 1, 6)
    _, f1 = law.region(1)
    np.testing.assert_array_equal(f1, [2.0, 2.0])
    assert not law.K.flags.writeable  # stored arrays are read-only
    with pytest.raises(IndexError):
        law.region(3)


def test_padded_repeats_rows_without_changing_margins():
    law = ExplicitLaw.from_regions(
        [
            (np.array([[2.0]]), np.array([2.0])),
            (np.array([[-1.0], [1.0], [1.0]]), np.array([-1.0, 3.0, 4.0])),
        ],
        K=np.zeros((2, 1, 1)), r=np.zeros((2, 1)), domain_A=[[1.0], [-1.0]], domain_b=[3.0, 3.0],
        domain_low=[-3.0], domain_high=[3.0], x_eq=[0.0], u_eq=[0.0], u_low=[-1.0], u_high=[1.0], dt=1.0,
    )
    E_pad, f_pad = law.padded()
    assert E_pad.shape == (2, 3, 1) and f_pad.shape == (2, 3)
    x = np.linspace(-3, 3, 13)
    g_pad = np.max(E_pad[None, :, :, 0] * x[:, None, None] - f_pad[None], axis=2)
    En, fn = law.normalized()
    g_ref = np.stack([np.max(En[s:e, 0][None] * x[:, None] - fn[s:e][None], axis=1)
                      for s, e in zip(law.region_ptr[:-1], law.region_ptr[1:], strict=True)], axis=1)
    np.testing.assert_allclose(g_pad, g_ref)
    np.testing.assert_allclose(np.linalg.norm(En, axis=1), 1.0)


def test_law_bounds_are_the_box_supremum():
    law = saturated_law()
    # |u| of the unsaturated law reaches GAIN * 10 at the domain edge; the saturated laws are 1.
    np.testing.assert_allclose(law.law_bounds(), [[1.0], [GAIN * 10.0], [1.0]])


def test_save_load_round_trip(tmp_path: Path):
    law = saturated_law(x_eq=0.3, u_eq=-0.2)
    path = law.save(tmp_path / "sub" / "law.npz")
    assert path.exists()
    assert [p.name for p in path.parent.iterdir()] == ["law.npz"]  # no temporary file left
    back = ExplicitLaw.load(path)
    for name in ("E", "f", "region_ptr", "K", "r", "domain_A", "domain_b", "domain_low", "domain_high",
                 "x_eq", "u_eq", "u_low", "u_high"):
        np.testing.assert_array_equal(getattr(back, name), getattr(law, name), err_msg=name)
    assert back.dt == law.dt
    assert back.state_names == ("x",) and back.input_names == ("u",)
    assert back.metadata == law.metadata
    assert back.format_version == FORMAT_VERSION
    # Every member of the archive is a plain array readable without pickle.
    with np.load(path, allow_pickle=False) as data:
        for name in data.files:
            assert data[name].dtype != object
        assert json.loads(str(data["metadata"]))["source"] == "hand-built"


def test_save_overwrites_atomically(tmp_path: Path):
    path = tmp_path / "law.npz"
    saturated_law().save(path)
    saturated_law(u_eq=1.0).save(path)
    assert ExplicitLaw.load(path).u_eq[0] == 1.0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["law.npz"]


def test_empty_names_round_trip(tmp_path: Path):
    law = scaled_square_law(1.0)
    back = ExplicitLaw.load(law.save(tmp_path / "l.npz"))
    assert back.state_names == () and back.input_names == ()


def _rewrite(src: Path, dst: Path, **changes: object) -> Path:
    """Copy an artefact with some members replaced (``None`` drops a member), its digest updated
    to match, so the field checks behind the digest are what a test reaches."""
    with np.load(src, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    for k, v in changes.items():
        if v is None:
            arrays.pop(k)
        else:
            arrays[k] = v
    if all(isinstance(v, np.ndarray) and not v.dtype.hasobject for v in arrays.values()):
        digests = {k: field_digest(v) for k, v in arrays.items() if k != "digest"}
        arrays["digest"] = np.array(json.dumps({"sha256": digests}))
    with open(dst, "wb") as fh:
        np.savez(fh, **arrays)
    return dst


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"K": np.zeros((3, 2, 1))}, "K"),
        ({"r": np.zeros((2, 1))}, "r"),
        ({"f": np.array([0.0, 1.0, np.nan, 0.0, 1.0, 1.0])}, "f"),
        ({"region_ptr": np.array([0, 4, 2, 6])}, "region_ptr"),
        ({"region_ptr": np.array([0.0, 2.0, 4.0, 6.0])}, "region_ptr"),
        ({"x_eq": np.zeros(2)}, "x_eq"),
        ({"u_low": np.array([2.0])}, "u_low"),
        ({"dt": np.array(-1.0)}, "dt"),
        ({"state_names": np.array(["a", "b"])}, "state_names"),
        ({"metadata": np.array("{not json")}, "metadata"),
        ({"format_version": np.array(FORMAT_VERSION + 1)}, "format_version"),
        ({"domain_low": None}, "domain_low"),
        ({"E": np.array(["a"] * 6)}, "E"),
    ],
)
def test_load_rejects_malformed_and_names_the_field(tmp_path: Path, changes: dict, field: str):
    good = saturated_law().save(tmp_path / "good.npz")
    bad = _rewrite(good, tmp_path / "bad.npz", **changes)
    with pytest.raises(ValueError, match=field):
        ExplicitLaw.load(bad)


_UNPICKLED: list[str] = []


def _mark_unpickled() -> str:
    _UNPICKLED.append("ran")
    return "payload"


class _Payload:
    def __reduce__(self):
        return (_mark_unpickled, ())


def test_load_never_unpickles(tmp_path: Path):
    good = saturated_law().save(tmp_path / "good.npz")
    obj = np.empty(1, dtype=object)
    obj[0] = _Payload()
    bad = _rewrite(good, tmp_path / "bad.npz", metadata=obj)  # np.savez pickles object arrays
    with pytest.raises(ValueError, match="metadata"):
        ExplicitLaw.load(bad)
    # A bare pickle under the artefact's name is refused as well.
    raw = tmp_path / "raw.npz"
    raw.write_bytes(pickle.dumps(_Payload()))
    with pytest.raises(ValueError, match="not an explicit-law artefact"):
        ExplicitLaw.load(raw)
    assert _UNPICKLED == []


def test_load_rejects_non_artefacts(tmp_path: Path):
    npy = tmp_path / "a.npy"
    np.save(npy, np.zeros(3))
    with pytest.raises(ValueError, match="not an explicit-law artefact"):
        ExplicitLaw.load(npy)
    junk = tmp_path / "junk.npz"
    with zipfile.ZipFile(junk, "w") as zf:
        zf.writestr("readme.txt", "hello")
    with pytest.raises(ValueError, match="missing"):
        ExplicitLaw.load(junk)
    with pytest.raises(ValueError, match="cannot read"):
        ExplicitLaw.load(tmp_path / "absent.npz")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"K": np.zeros((3, 1, 2))}, "K"),
        ({"f": np.zeros(5)}, "f"),
        ({"E": np.zeros((6, 1))}, "E"),
        ({"u_low": [2.0]}, "u_low"),
        ({"domain_low": [11.0]}, "domain_low"),
        ({"dt": 0.0}, "dt"),
        ({"metadata": {"bad": float("nan")}}, "metadata"),
        ({"input_names": "u"}, "input_names"),
        ({"format_version": 99}, "format_version"),
    ],
)
def test_law_validation_names_the_field(kwargs: dict, field: str):
    law = saturated_law()
    fields = {name: getattr(law, name) for name in law.__dataclass_fields__}
    fields.update(kwargs)
    with pytest.raises(ValueError, match=field):
        ExplicitLaw(**fields)


# -- the controller ---------------------------------------------------------------------------


def test_is_a_controller():
    assert isinstance(ExplicitMPC(saturated_law()), Controller)


def test_act_inside_the_feasible_set():
    ctrl = ExplicitMPC(saturated_law(x_eq=1.0, u_eq=0.5))
    for x, du in [(1.0, 0.0), (2.0, -GAIN), (-0.5, 0.75), (4.0, -1.0), (-3.0, 1.0), (6.0, -1.0)]:
        u = ctrl.act(np.array([x]))
        assert u.shape == (1,)
        assert u[0] == pytest.approx(0.5 + du)
        assert not ctrl.last_infeasible
    assert ctrl.n_calls == 6 and ctrl.n_infeasible == 0
    assert ctrl.last_margin <= 0.0


def test_margin_is_signed_distance_and_scale_free():
    X = np.array([[-0.5, 0.2], [0.5, -0.9], [1.5, 0.0], [0.0, 2.0], [-2.5, 2.5]])
    dist = np.array([-0.5, -0.1, 0.5, 1.0, 1.5])  # depth inside / distance outside (axis-aligned)
    for scale in (1.0, 1e-3, 1e3):
        ev = ExplicitMPC(scaled_square_law(scale)).evaluate(X)
        np.testing.assert_allclose(ev.margin, dist, atol=1e-12)
        np.testing.assert_array_equal(ev.feasible, dist <= 0)


def test_fallback_outside_is_nearest_region_clipped_never_zero(caplog: pytest.LogCaptureFixture):
    ctrl = ExplicitMPC(saturated_law())
    with caplog.at_level(logging.WARNING, logger="robocritic.controllers.explicit_mpc"):
        u = ctrl.act(np.array([7.0]))
        assert u[0] == -1.0  # region [2, 5]'s law u = -1, not a silent zero
        assert ctrl.last_infeasible and ctrl.n_infeasible == 1
        assert ctrl.last_margin == pytest.approx(2.0) and ctrl.last_region == 2
        assert ctrl.act(np.array([-9.0]))[0] == 1.0
        assert ctrl.n_infeasible == 2
    # One warning at the onset of a run of infeasible states, not one per step.
    assert sum("outside the feasible set" in r.message for r in caplog.records) == 1
    ctrl.act(np.array([0.0]))
    assert not ctrl.last_infeasible
    ctrl.reset()
    assert ctrl.last_region == -1 and ctrl.n_calls == 3


def test_fallback_extrapolates_then_clips():
    # Just outside the unsaturated region's own domain edge the nearest region's law is applied;
    # far out it saturates at the input bound.
    law = ExplicitLaw.from_regions(
        [(np.array([[1.0], [-1.0]]), np.array([1.0, 1.0]))], K=np.array([[[-0.5]]]), r=np.zeros((1, 1)),
        domain_A=[[1.0], [-1.0]], domain_b=[10.0, 10.0], domain_low=[-10.0], domain_high=[10.0],
        x_eq=[0.0], u_eq=[0.0], u_low=[-1.0], u_high=[1.0], dt=1.0,
    )
    ev = ExplicitMPC(law).evaluate(np.array([[1.5], [8.0], [-8.0]]))
    np.testing.assert_allclose(ev.u[:, 0], [-0.75, -1.0, 1.0])
    np.testing.assert_array_equal(ev.feasible, [False, False, False])


def test_evaluate_matches_act_and_chunks(monkeypatch: pytest.MonkeyPatch):
    law = scaled_square_law(3.0)
    ctrl = ExplicitMPC(law)
    X = np.random.default_rng(0).uniform(-3, 3, size=(257, 2))
    ev = ctrl.evaluate(X)
    monkeypatch.setattr(ExplicitMPC, "_CHUNK_ELEMS", 8)  # many tiny chunks
    ev_small = ExplicitMPC(law).evaluate(X)
    np.testing.assert_array_equal(ev.u, ev_small.u)
    np.testing.assert_array_equal(ev.region, ev_small.region)
    for k in range(0, 257, 16):
        np.testing.assert_array_equal(ctrl.act(X[k]), ev.u[k])
        assert ctrl.last_infeasible == (not ev.feasible[k])
        assert ctrl.feasible(X[k]) == ev.feasible[k]
    assert ev.u.shape == (257, 1) and ev.region.dtype == np.int64


def test_locate_one_state_equals_its_batch_row():
    law = scaled_square_law(3.0)
    ctrl = ExplicitMPC(law)
    rng = np.random.default_rng(1)
    # Inside, on the shared facet x_0 = 0 (a tie: the lowest index wins) and far outside.
    dX = np.vstack([rng.uniform(-1, 1, (20, 2)), [[0.0, 0.3], [0.0, -0.9]], rng.uniform(-6, 6, (20, 2))])
    region, margin = ctrl.locate(dX)
    assert region.dtype == np.int64 and region.shape == margin.shape == (len(dX),)
    assert region[20] == region[21] == 0
    for k, dx in enumerate(dX):
        i, m = ctrl.locate(dx)
        assert (i, m) == (region[k], margin[k])


def test_feasibility_tolerance():
    x = np.array([5.0 + 1e-10])
    assert ExplicitMPC(saturated_law()).feasible(x)
    assert not ExplicitMPC(saturated_law(), feasibility_tol=0.0).feasible(x)
    with pytest.raises(ValueError, match="feasibility_tol"):
        ExplicitMPC(saturated_law(), feasibility_tol=-1.0)


def test_bad_inputs_raise():
    ctrl = ExplicitMPC(saturated_law())
    with pytest.raises(ValueError, match="obs"):
        ctrl.act(np.array([np.nan]))
    with pytest.raises(ValueError, match="obs"):
        ctrl.act(np.zeros(2))
    with pytest.raises(ValueError, match="states"):
        ctrl.evaluate(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="finite"):
        ctrl.evaluate(np.array([[np.inf]]))
    with pytest.raises(ValueError, match="ExplicitLaw"):
        ExplicitMPC("law.npz")  # type: ignore[arg-type]
