"""Diff-drive message I/O: depth, odometry, goal and path round trips, and every rejection reason."""

from __future__ import annotations

import math

import numpy as np
import pytest

from robocritic.nodes.io.diffdrive import DiffDriveIO, yaw_quaternion
from robocritic.nodes.rejections import InputRejected
from robocritic.profiles import load_profile
from robocritic.ros.msgs import Odometry, PoseStamped
from robocritic.ros.msgs.convert import make_header, numpy_to_image, time_to_ns

CAMERA = load_profile("diffdrive_depth").camera
IO = DiffDriveIO(CAMERA, odom_frame="odom")


def _depth(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    d = rng.uniform(0.1, 5.0, (CAMERA.height, CAMERA.width)).astype(np.float32)
    d[rng.random(d.shape) < 0.2] = 0.0  # no return
    return d


def _reason(call) -> str:
    with pytest.raises(InputRejected) as info:
        call()
    return info.value.reason


def test_depth_round_trip_is_exact_and_no_return_travels_as_nan():
    depth = _depth()
    msg = IO.depth_message(depth, stamp_ns=1_500_000_000)
    assert msg.encoding == "32FC1" and msg.header.frame_id == "camera_depth_optical_frame"
    raw = np.frombuffer(msg.data, dtype="<f4").reshape(depth.shape)
    assert np.isnan(raw[depth == 0]).all()  # REP 118: NaN is "no return", never a 0 m reading
    decoded, stamp = IO.decode_depth(msg)
    np.testing.assert_array_equal(decoded, depth)
    assert stamp == 1_500_000_000 and decoded.dtype == np.float32


def test_depth_in_millimetres_and_out_of_range_readings():
    mm = np.full((CAMERA.height, CAMERA.width), 1234, dtype=np.uint16)
    mm[0, :3] = (0, 50, 9000)  # no return, nearer than min_range, beyond max_range
    decoded, _ = IO.decode_depth(numpy_to_image(mm, "16UC1"))
    assert decoded[1, 0] == pytest.approx(1.234)
    assert decoded[0, :3].tolist() == [0.0, 0.0, 0.0]
    inf = np.full((CAMERA.height, CAMERA.width), np.inf, dtype=np.float32)
    assert not IO.decode_depth(numpy_to_image(inf, "32FC1"))[0].any()


@pytest.mark.parametrize(("image", "reason"), [
    (numpy_to_image(np.zeros((48, 32), np.float32), "32FC1"), "depth_size"),
    (numpy_to_image(np.zeros((48, 64), np.uint8), "mono8"), "depth_encoding"),
])
def test_depth_rejections(image, reason):
    assert _reason(lambda: IO.decode_depth(image)) == reason


def test_truncated_depth_image_is_malformed():
    msg = IO.depth_message(_depth(), 0)
    msg.data = msg.data[:-4]
    assert _reason(lambda: IO.decode_depth(msg)) == "malformed"


@pytest.mark.parametrize("yaw", [0.0, 1.0, -2.5, math.pi - 1e-9])
def test_odometry_round_trip(yaw):
    odom = np.array([1.25, -3.5, yaw, 0.4, -0.7])
    decoded, stamp = IO.decode_odometry(IO.odometry_message(odom, 700_000_000))
    np.testing.assert_allclose(decoded, odom, rtol=0, atol=1e-12)
    assert stamp == 700_000_000


def test_odometry_rejections():
    good = IO.odometry_message(np.array([0.0, 0.0, 0.3, 0.1, 0.0]), 0)
    nan = IO.odometry_message(np.array([np.nan, 0.0, 0.0, 0.0, 0.0]), 0)
    assert _reason(lambda: IO.decode_odometry(nan)) == "non_finite"
    other = Odometry(header=make_header(0, "map"), pose=good.pose, twist=good.twist)
    assert _reason(lambda: IO.decode_odometry(other)) == "odom_frame"
    skew = IO.odometry_message(np.zeros(5), 0)
    skew.pose.pose.orientation.w = 2.0
    assert _reason(lambda: IO.decode_odometry(skew)) == "bad_quaternion"


def test_goal_decode_and_rejections():
    np.testing.assert_array_equal(IO.decode_goal(IO.goal_message(np.array([3.0, -1.5]), 0)), [3.0, -1.5])
    nan = IO.goal_message(np.array([np.nan, 1.0]), 0)
    assert _reason(lambda: IO.decode_goal(nan)) == "goal_non_finite"
    assert _reason(lambda: IO.decode_goal(PoseStamped(header=make_header(0, "map")))) == "goal_frame"


def test_path_and_twist_messages():
    path = IO.path_message(np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]]), 2_000_000_000)
    assert path.header.frame_id == "odom" and time_to_ns(path.header.stamp) == 2_000_000_000
    assert [(p.pose.position.x, p.pose.position.y) for p in path.poses] == [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0)]
    q = path.poses[1].pose.orientation
    np.testing.assert_allclose([q.x, q.y, q.z, q.w], yaw_quaternion(math.pi / 2))
    assert IO.path_message(np.zeros((0, 2)), 0).poses == []
    twist = IO.twist_message(np.array([0.3, -0.2]))
    assert (twist.linear.x, twist.angular.z, twist.linear.y, twist.angular.x) == (0.3, -0.2, 0.0, 0.0)
