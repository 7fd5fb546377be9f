"""msg <-> numpy helpers: round trips, joint reordering by name, and clear errors on bad messages."""

from __future__ import annotations

import numpy as np
import pytest

from robocritic.ros import msgs
from robocritic.ros.msgs import convert
from robocritic.ros.msgs.convert import MessageError


def test_time_conversions_round_trip_and_reject_out_of_range():
    t = convert.ns_to_time(3_000_000_007)
    assert (t.sec, t.nanosec) == (3, 7)
    assert convert.time_to_ns(t) == 3_000_000_007
    assert convert.time_to_s(convert.s_to_time(12.5)) == 12.5
    d = convert.ns_to_duration(-1_500_000_000)  # ROS: sec=-2, nanosec=5e8
    assert (d.sec, d.nanosec) == (-2, 500_000_000)
    assert convert.time_to_ns(d) == -1_500_000_000
    with pytest.raises(ValueError, match="outside"):
        convert.ns_to_time(-1)
    with pytest.raises(ValueError, match="outside"):
        convert.ns_to_time(2**31 * 10**9)


@pytest.mark.parametrize(
    ("encoding", "shape", "dtype"),
    [("32FC1", (3, 5), np.float32), ("16UC1", (4, 2), np.uint16), ("mono8", (2, 2), np.uint8),
     ("rgb8", (2, 3, 3), np.uint8), ("bgra8", (1, 2, 4), np.uint8), ("64FC1", (2, 2), np.float64)],
)  # fmt: skip
def test_image_round_trip(encoding, shape, dtype):
    rng = np.random.default_rng(0)
    a = (rng.random(shape) * 200).astype(dtype)
    img = convert.numpy_to_image(a, encoding, stamp_ns=5, frame_id="cam")
    assert img.step * img.height == len(img.data)
    back = convert.image_to_numpy(img)
    assert back.dtype == dtype
    np.testing.assert_array_equal(back, a)


def test_image_handles_padding_and_big_endian():
    depth = np.array([[1.0, 2.0], [3.0, np.nan]], dtype=">f4")
    rows = [depth[r].tobytes() + b"\xee" * 3 for r in range(2)]  # 3 padding bytes per row
    img = msgs.Image(height=2, width=2, encoding="32FC1", is_bigendian=1, step=11, data=list(b"".join(rows)))
    np.testing.assert_array_equal(convert.image_to_numpy(img), depth.astype("<f4"))


@pytest.mark.parametrize(
    ("img", "match"),
    [
        (msgs.Image(height=1, width=2, encoding="32FC1", step=8, data=[0] * 7), "has 7 bytes"),
        (msgs.Image(height=1, width=2, encoding="32FC1", step=4, data=[0] * 4), "smaller than one row"),
        (msgs.Image(height=1, width=1, encoding="yuv422", step=2, data=[0] * 2), "unsupported"),
    ],
)
def test_image_rejects_malformed(img, match):
    with pytest.raises(MessageError, match=match):
        convert.image_to_numpy(img)


def test_multi_array_round_trip_and_layout():
    a = np.arange(24.0).reshape(2, 3, 4)
    msg = convert.numpy_to_float64_multi_array(a, labels=["x", "y", "z"])
    assert [(d.label, d.size, d.stride) for d in msg.layout.dim] == [("x", 2, 24), ("y", 3, 12), ("z", 4, 4)]
    np.testing.assert_array_equal(convert.float64_multi_array_to_numpy(msg), a)
    flat = msgs.Float64MultiArray(data=[1.0, 2.0])
    np.testing.assert_array_equal(convert.float64_multi_array_to_numpy(flat), [1.0, 2.0])


def test_multi_array_honours_offset_and_padded_rows():
    # 2x2 matrix stored with one padding value per row, after one leading value.
    layout = msgs.MultiArrayLayout(
        dim=[msgs.MultiArrayDimension("rows", 2, 6), msgs.MultiArrayDimension("cols", 2, 3)], data_offset=1
    )
    msg = msgs.Float64MultiArray(layout=layout, data=[-1.0, 1.0, 2.0, -9.0, 3.0, 4.0, -9.0])
    np.testing.assert_array_equal(convert.float64_multi_array_to_numpy(msg), [[1.0, 2.0], [3.0, 4.0]])
    msg.data = msg.data[:4]
    with pytest.raises(MessageError, match="needs 6 values"):
        convert.float64_multi_array_to_numpy(msg)


def test_geometry_round_trips():
    tw = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    np.testing.assert_array_equal(convert.twist_to_numpy(convert.numpy_to_twist(tw)), tw)
    np.testing.assert_array_equal(convert.wrench_to_numpy(convert.numpy_to_wrench(tw)), tw)
    pos, quat = convert.pose_to_numpy(convert.numpy_to_pose([1, 2, 3], [0, 0, 0, 1]))
    np.testing.assert_array_equal(pos, [1, 2, 3])
    np.testing.assert_array_equal(quat, [0, 0, 0, 1])
    cov = np.arange(36.0).reshape(6, 6)
    np.testing.assert_array_equal(convert.covariance_to_numpy(convert.numpy_to_covariance(cov)), cov)
    assert msgs.Quaternion().w == 1.0  # ROS 2 default: identity
    with pytest.raises(MessageError, match="twist needs 6 values; got 5"):
        convert.numpy_to_twist(np.zeros(5))
