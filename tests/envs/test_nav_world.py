"""Navigation worlds: the generator (determinism, presets, validation), the privileged grids
against the primitives, the MJCF, mirroring, and the grid graph's shortest paths."""

from __future__ import annotations

import math

import mujoco
import numpy as np
import pytest
from robocritic.envs.nav.grid import GridMap, cost_to_go, descend, esdf, inflate
from robocritic.envs.nav.world import (
    LOW_OBSTACLE_CEILING,
    PRESETS,
    Obstacle,
    World,
    WorldSpec,
    generate_world,
)

EMPTY = PRESETS["empty"]


def walled(*obstacles: Obstacle, spec: WorldSpec = EMPTY) -> World:
    """The empty arena's perimeter walls plus ``obstacles``."""
    return World(spec, generate_world(0, spec).obstacles + obstacles)


# ---- generator -------------------------------------------------------------------------------
@pytest.mark.parametrize("preset", ["default", "dense"])
def test_same_seed_same_world_and_different_seeds_differ(preset):
    a, b, c = generate_world(5, preset), generate_world(5, preset), generate_world(6, preset)
    assert a.obstacles == b.obstacles and a.doors == b.doors
    np.testing.assert_array_equal(a.occupancy, b.occupancy)
    assert a.mjcf() == b.mjcf()
    assert a.obstacles != c.obstacles
    assert not np.array_equal(a.occupancy, c.occupancy)


def test_presets_have_the_obstacle_kinds_they_promise():
    counts = {"default": {}, "dense": {}}
    for preset, count in counts.items():
        for seed in range(4):
            for o in generate_world(seed, preset).obstacles:
                count[o.category] = count.get(o.category, 0) + 1
    for kind in ("box", "cylinder", "pole", "low"):
        assert counts["dense"][kind] > counts["default"][kind] > 0
    dense = [generate_world(s, "dense") for s in range(4)]
    assert all(len(w.doors) >= 1 for w in dense)  # rooms with one door each: dead ends
    assert all(o.height < LOW_OBSTACLE_CEILING for w in dense for o in w.obstacles if o.category == "low")
    assert np.mean([w.occupancy.mean() for w in dense]) > np.mean(
        [generate_world(s, "default").occupancy.mean() for s in range(4)])
    assert [o.category for o in generate_world(3, "empty").obstacles] == ["wall"] * 4


def test_clutter_respects_the_minimum_gap():
    spec = PRESETS["default"]
    for seed in range(3):
        world = generate_world(seed, spec)
        placed = [o for o in world.obstacles if o.category != "wall"]
        for k, o in enumerate(placed):
            before = [p for p in world.obstacles if p.category == "wall"] + placed[:k]
            gap = min(float(p.signed_distance(np.array(o.center))) for p in before) - o.bounding_radius
            assert gap >= spec.min_gap - 1e-9


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"arena_size": (10.0, 10.02)}, "arena_size"),
        ({"arena_size": (1.0, 10.0)}, "arena_size"),
        ({"resolution": 0.0}, "resolution"),
        ({"n_boxes": (5, 2)}, "n_boxes"),
        ({"n_poles": (1.5, 2)}, "n_poles"),
        ({"box_size": (0.0, 1.0)}, "box_size"),
        ({"low_height": (0.1, 0.5)}, "low_height"),
        ({"min_gap": float("nan")}, "min_gap"),
        ({"room_size": (2.0, 9.0)}, "room_size"),
        ({"doors_per_room": (0, 1)}, "doors_per_room"),
    ],
)
def test_bad_spec_fields_are_named(changes, field):
    with pytest.raises(ValueError, match=rf"WorldSpec\.{field}"):
        WorldSpec(**changes)


def test_bad_seed_and_preset_are_named():
    with pytest.raises(ValueError, match="seed"):
        generate_world(-1)
    with pytest.raises(ValueError, match="world_spec"):
        generate_world(0, "nope")
    with pytest.raises(ValueError, match=r"Obstacle\.half_size"):
        Obstacle("box", (0.0, 0.0), (0.0, 1.0), 0.0, 1.0, "box")


# ---- grids against the primitives ------------------------------------------------------------------
def test_occupancy_covers_a_known_box_and_nothing_else():
    box = Obstacle("box", (1.0, -1.0), (0.5, 0.25), 0.0, 1.0, "box")  # x in [0.5, 1.5], y in [-1.25, -0.75]
    world = walled(box)
    grid = world.grid
    assert grid.shape == (200, 200)
    centres = grid.cell_centres()
    inside = (np.abs(centres[..., 0] - 1.0) < 0.5) & (np.abs(centres[..., 1] + 1.0) < 0.25)
    assert inside.sum() == 20 * 10
    assert world.occupancy[inside].all()
    near_box = (np.abs(centres[..., 0] - 1.0) < 1.0) & (np.abs(centres[..., 1] + 1.0) < 1.0)
    assert world.occupancy[near_box].sum() == inside.sum()  # faces on cell boundaries: exact
    # Thin poles still show.
    pole = walled(Obstacle("cylinder", (0.013, 0.021), (0.015, 0.015), 0.0, 1.5, "pole"))
    ix, iy = grid.cell_of(np.array([0.013, 0.021]))
    assert pole.occupancy[ix, iy]


def test_esdf_matches_the_distance_to_a_known_wall_and_the_exact_distance():
    world = walled()  # perimeter walls: inner faces at |x| = 4.9, |y| = 4.9
    for x in (0.025, 2.025, 4.475):
        assert float(world.clearance(np.array([x, 0.025]))) == pytest.approx(4.9 - x, abs=1e-9)
    box = Obstacle("box", (0.3, 0.7), (0.4, 0.2), 0.6, 1.0, "box")
    world = walled(box, Obstacle("cylinder", (-2.0, -1.5), (0.3, 0.3), 0.0, 1.0, "cylinder"))
    centres = world.grid.cell_centres()
    exact = world.signed_distance(centres)
    free = ~world.occupancy
    # Occupied centres lie within half a cell of an obstacle and any obstacle point within
    # res / sqrt(2) of an occupied centre: the free-space error is within one cell.
    err = world.esdf[free] - exact[free]
    assert -world.grid.resolution - 1e-9 <= err.min() and err.max() <= 0.21 * world.grid.resolution
    assert (world.esdf[world.occupancy] < 0).all() and (world.esdf[~world.occupancy] > 0).all()


def test_inflate_grows_obstacles_by_the_radius():
    world = walled(Obstacle("cylinder", (0.0, 0.0), (0.5, 0.5), 0.0, 1.0, "cylinder"))
    inflated = inflate(world.occupancy, 0.3, world.grid.resolution)
    centres = world.grid.cell_centres()
    r = np.hypot(centres[..., 0], centres[..., 1])
    assert inflated[r < 0.77].all()
    assert not inflated[(r > 0.83) & (r < 3.0)].any()
    assert inflated[world.occupancy].all()
    with pytest.raises(ValueError, match="radius"):
        inflate(world.occupancy, -1.0, 0.05)


def test_esdf_of_an_empty_grid_is_infinite():
    assert np.isinf(esdf(np.zeros((4, 4), dtype=bool), 0.05)).all()


def test_mirrored_world_has_mirrored_grids():
    world = generate_world(11, "default")
    mirror = world.mirrored_y()
    np.testing.assert_array_equal(mirror.occupancy, world.occupancy[:, ::-1])
    np.testing.assert_array_equal(mirror.esdf, world.esdf[:, ::-1])


def test_grids_are_read_only():
    world = generate_world(0)
    with pytest.raises(ValueError):
        world.esdf[0, 0] = 1.0


# ---- MJCF ------------------------------------------------------------------------------------------
def test_mjcf_uses_radians_and_matches_the_primitives():
    box = Obstacle("box", (1.0, 2.0), (0.5, 0.2), math.pi / 6, 0.8, "box")
    world = walled(box)
    xml = world.mjcf()
    assert '<compiler angle="radian"/>' in xml
    model = mujoco.MjModel.from_xml_string(xml)
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    gid = model.geom("box_0").id
    np.testing.assert_allclose(data.geom_xpos[gid], [1.0, 2.0, 0.4], atol=1e-12)
    np.testing.assert_allclose(model.geom_size[gid], [0.5, 0.2, 0.4], atol=1e-12)
    rot = data.geom_xmat[gid].reshape(3, 3)
    assert math.atan2(rot[1, 0], rot[0, 0]) == pytest.approx(math.pi / 6, abs=1e-9)
    assert model.ngeom == 1 + 4 + 1


# ---- grid graph ----------------------------------------------------------------------------------------
def test_cost_to_go_is_the_octile_distance_in_free_space_and_respects_blocked_cells():
    w = np.ones((11, 11))
    cost = cost_to_go(w, np.array([[5, 5]]), 0.1)
    assert cost[5, 5] == 0.0
    assert cost[9, 5] == pytest.approx(0.4)
    assert cost[9, 8] == pytest.approx(0.1 + 0.3 * math.sqrt(2))
    w[3, :] = np.inf  # a wall across x = 3: the left part is cut off
    cost = cost_to_go(w, np.array([[5, 5]]), 0.1)
    assert np.isinf(cost[:4]).all() and np.isfinite(cost[4:]).all()
    with pytest.raises(ValueError, match="sources must be free"):
        cost_to_go(w, np.array([[3, 3]]), 0.1)


def test_no_corner_cutting_and_descent_falls_strictly():
    w = np.ones((5, 5))
    w[2, 1] = w[1, 2] = np.inf  # two blocked cells touching at a corner
    cost = cost_to_go(w, np.array([[0, 0]]), 1.0)
    assert cost[2, 2] > 2 * math.sqrt(2) + 1e-9  # the diagonal through the corner is not an edge
    path = descend(cost, (4, 4))
    assert tuple(path[0]) == (4, 4) and tuple(path[-1]) == (0, 0)
    assert np.all(np.diff(cost[path[:, 0], path[:, 1]]) < 0)
    steps = np.abs(np.diff(path, axis=0))
    assert steps.max() == 1
    with pytest.raises(ValueError, match="start cell"):
        descend(cost, (2, 1))


def test_grid_map_sampling():
    grid = GridMap((4, 2), 0.5)
    values = np.arange(8.0).reshape(4, 2)
    np.testing.assert_allclose(grid.origin, [-1.0, -0.5])
    assert float(grid.sample(values, np.array([-0.75, -0.25]))) == 0.0
    assert float(grid.sample(values, np.array([-0.5, 0.0]))) == pytest.approx(1.5)  # bilinear
    assert float(grid.sample(values, np.array([0.9, 0.4]), bilinear=False)) == 7.0
    np.testing.assert_array_equal(grid.cell_of(np.array([[-0.99, -0.49], [0.99, 0.49]])), [[0, 0], [3, 1]])
