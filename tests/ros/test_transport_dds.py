"""DDS transport between real processes on a random domain over the loopback-only configuration.

Checks what a ROS 2 graph would see: ``rt/`` topic names and ``pkg::msg::dds_::Type_`` type
names in DDS discovery (read with ``BuiltinDataReader`` + ``ReadCondition``: a plain DataReader
on the builtin topics segfaults with cyclonedds 11.0.1), values intact across processes, timers
at the right rate, and a malformed sample on the wire counted instead of crashing the executor.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

from robocritic.ros.msgs import Twist, Vector3
from robocritic.ros.qos import QoSProfile
from robocritic.ros.transport import make_node
from robocritic.ros.transport.dds import LOOPBACK_CONFIG

# A hung peer or discovery must fail the test, not the whole run (readline() blocks).
pytestmark = pytest.mark.timeout(60)

PEER = Path(__file__).with_name("dds_peer.py")
N_MESSAGES = 50
TIMEOUT_S = 20.0
# Unique per run: a random domain can still collide with a concurrent run (1 in 101 per pair).
NS = f"robocritic_test_{os.getpid()}_{random.SystemRandom().randrange(10**6)}"


@pytest.fixture
def peers(domain_id, tmp_path):
    """Start dds_peer.py processes; all are ended (stdin closed, then killed) after the test."""
    procs: list[subprocess.Popen] = []

    def start(*args: str) -> subprocess.Popen:
        # stderr to a file: a chatty peer must never block on a full pipe
        stderr = open(tmp_path / f"peer{len(procs)}_{args[0]}.log", "w+")  # noqa: SIM115 - closed below
        proc = subprocess.Popen(
            [sys.executable, str(PEER), args[0], NS, *args[1:]],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, text=True, env=dict(os.environ),
        )  # fmt: skip
        proc.stderr_file = stderr
        procs.append(proc)
        line = proc.stdout.readline().strip()
        assert line == "READY", f"peer {args} failed to start: {line!r} {_stderr(proc)}"
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            try:
                proc.stdin.close()
                proc.wait(timeout=3)
            except (subprocess.TimeoutExpired, BrokenPipeError, OSError):
                proc.kill()
                proc.wait()
        proc.stdout.close()
        proc.stderr_file.close()


def _stderr(proc: subprocess.Popen) -> str:
    proc.stderr_file.flush()
    proc.stderr_file.seek(0)
    return proc.stderr_file.read()


def _read_json(proc: subprocess.Popen) -> dict:
    line = proc.stdout.readline()
    assert line, f"peer exited without a result: {_stderr(proc)}"
    return json.loads(line)


def test_twists_between_two_processes_with_ros2_wire_names(peers, domain_id):
    from cyclonedds.builtin import (
        BuiltinDataReader,
        BuiltinTopicDcpsPublication,
        BuiltinTopicDcpsSubscription,
    )
    from cyclonedds.core import InstanceState, ReadCondition, SampleState, ViewState
    from cyclonedds.domain import DomainParticipant

    # Watch discovery from this process before the peers start, so nothing is missed.
    participant = DomainParticipant(domain_id)
    readers = {
        kind: BuiltinDataReader(participant, topic)
        for kind, topic in (("pub", BuiltinTopicDcpsPublication), ("sub", BuiltinTopicDcpsSubscription))
    }
    conditions = {
        k: ReadCondition(r, ViewState.Any | InstanceState.Any | SampleState.Any) for k, r in readers.items()
    }

    t0 = time.monotonic()
    listener = peers("listen", str(N_MESSAGES))
    talker = peers("talk", str(N_MESSAGES))
    result = _read_json(listener)
    elapsed = time.monotonic() - t0
    assert _read_json(talker) == {"sent": N_MESSAGES}
    assert result["received"] == [[float(i), -i / 2] for i in range(N_MESSAGES)], "values and order intact"
    listener.wait(timeout=5)
    assert listener.returncode == 0

    expected = (f"rt/{NS}/cmd_vel", "geometry_msgs::msg::dds_::Twist_")
    seen: dict[str, set[tuple[str, str]]] = {"pub": set(), "sub": set()}
    deadline = time.monotonic() + 5.0
    while not (expected in seen["pub"] and expected in seen["sub"]):
        assert time.monotonic() < deadline, f"endpoints not discovered with ROS 2 wire names; saw {seen}"
        for kind, reader in readers.items():
            for sample in reader.read(N=100, condition=conditions[kind]):
                seen[kind].add((sample.topic_name, sample.type_name))
        time.sleep(0.02)
    ours = {name for kind in seen.values() for name, _ in kind if NS in name}
    assert ours == {f"rt/{NS}/cmd_vel"}, ours
    print(f"\n2 processes, {N_MESSAGES} Twists: {elapsed:.2f} s including both interpreters' start-up")


def test_round_trip_latency_to_echo_process(peers):
    """Ping-pong with a second process: reports median/p99 round trip (loose bound: loaded CI)."""
    peers("echo")
    node = make_node("pinger", transport="dds", namespace=NS)
    try:
        ping = node.create_publisher(Twist, "ping", QoSProfile(depth=10))
        replies: dict[int, int] = {}  # ping index -> arrival time [ns]
        pong = node.create_subscription(
            Twist,
            "pong",
            lambda m: replies.setdefault(int(m.linear.x), time.perf_counter_ns()),
            QoSProfile(depth=10),
        )
        deadline = time.monotonic() + TIMEOUT_S
        while not (ping.get_subscription_count() and pong.get_publisher_count()):  # discovery, both ways
            assert time.monotonic() < deadline, "echo peer never matched"
            time.sleep(0.001)
        time.sleep(0.05)  # let the echo's own writer/reader matching settle too
        rtts = []
        for i in range(300):
            sent = time.perf_counter_ns()
            ping.publish(Twist(linear=Vector3(x=float(i))))
            wait_until = time.monotonic() + 1.0
            while i not in replies and time.monotonic() < wait_until:
                node.spin_once(0.1)
            if i in replies:
                rtts.append((replies[i] - sent) / 1e3)
        assert len(rtts) >= 295, f"only {len(rtts)} of 300 pings answered"
        steady = sorted(rtts[20:])  # skip warm-up
        median = statistics.median(steady)
        p99 = steady[int(0.99 * (len(steady) - 1))]
        print(
            f"\nround trip over DDS loopback: median {median:.0f} us, p99 {p99:.0f} us ({len(steady)} pings)"
        )
        assert median < 20_000, f"median round trip {median:.0f} us"
    finally:
        node.destroy()


def test_timer_rate_and_in_process_delivery(domain_id):
    """A 100 Hz timer fires ~100 times per second of wall time; two nodes of one process talk."""
    a = make_node("timer_node", transport="dds")
    b = make_node("sink", transport="dds")
    try:
        got = []
        b.create_subscription(Twist, f"/{NS}/tick", got.append, QoSProfile(depth=200))
        pub = a.create_publisher(Twist, f"/{NS}/tick", QoSProfile(depth=200))
        calls = []
        timer = a.create_timer(0.01, lambda: (calls.append(time.monotonic()), pub.publish(Twist())))
        thread = b.spin_in_thread()
        start = time.monotonic()
        a.spin(1.0)
        elapsed = time.monotonic() - start
        assert 90 <= len(calls) <= 101, f"{len(calls)} calls in {elapsed:.3f} s"
        periods = [t1 - t0 for t0, t1 in itertools.pairwise(calls)]
        assert statistics.median(periods) == pytest.approx(0.01, abs=0.002)
        time.sleep(0.1)
        assert len(got) == len(calls)
        print(
            f"\n100 Hz timer: {len(calls)} calls in {elapsed:.3f} s, median period "
            f"{statistics.median(periods) * 1e3:.3f} ms, max {max(periods) * 1e3:.3f} ms, "
            f"missed {timer.missed}"
        )
    finally:
        b.destroy()
        a.destroy()
    assert not thread.is_alive(), "destroy() must stop the spin thread"


def test_malformed_sample_is_counted_not_fatal(domain_id, monkeypatch):
    """Undecodable bytes taken from a reader are counted and dropped; the good sample after them arrives."""
    node = make_node("victim", transport="dds")
    try:
        got = []
        sub = node.create_subscription(Twist, f"/{NS}/fuzz", got.append, QoSProfile(depth=10))
        good = Twist(linear=Vector3(x=1.5)).serialize()

        class Info:  # what the raw take reports per sample
            valid_data = True
            source_timestamp = 0

        # DDS type matching keeps a wrong type off the topic, so feed the executor's raw take
        # directly: a truncated sample (a buggy or hostile sender) followed by a good one.
        monkeypatch.setattr(sub, "_take_raw", lambda: [(good[:10], Info()), (good, Info())])
        assert node.spin_once(0.0) == 1
        assert [m.linear.x for m in got] == [1.5]
        assert node.stats.receive_errors == {f"/{NS}/fuzz": 1} and sub.errors == 1
    finally:
        node.destroy()


def test_sim_time_timers_and_destroy_from_callback(domain_id):
    """Under use_sim_time a node's clock and timers follow /clock; a callback may destroy its node."""
    from robocritic.ros.msgs import Clock
    from robocritic.ros.msgs.convert import ns_to_time

    sim = make_node("sim", transport="dds", namespace=NS)
    ctl = make_node(
        "ctl",
        transport="dds",
        namespace=NS,
        parameters={"use_sim_time": True},
        remappings={"/clock": f"/{NS}/clock"},
    )  # private clock: concurrent tests never share it
    try:
        assert ctl.use_sim_time and ctl.now_ns() == 0
        fired = []

        def on_timer() -> None:
            fired.append(ctl.now())
            if len(fired) == 3:
                ctl.destroy()  # from inside the node's own callback: released after it returns

        ctl.create_timer(0.5, on_timer)
        clock = sim.create_publisher(Clock, "clock", "clock")
        deadline = time.monotonic() + 5.0
        while clock.get_subscription_count() == 0:
            assert time.monotonic() < deadline
            time.sleep(0.001)
        for k in range(1, 9):  # 0.25 s of sim time per tick, as fast as the executor takes them
            clock.publish(Clock(ns_to_time(k * 250_000_000)))
            ctl.spin_once(1.0)
            if len(fired) == 3:
                break
        assert fired == [0.5, 1.0, 1.5]
        assert ctl.spin_once(0.0) == 0 and clock.get_subscription_count() == 0  # released
    finally:
        ctl.destroy()
        sim.destroy()


def test_domain_and_config_come_from_the_environment(monkeypatch):
    from robocritic.ros.transport import dds

    monkeypatch.setenv("ROS_DOMAIN_ID", "42")
    assert dds.domain_id_from_environment() == 42
    monkeypatch.delenv("ROS_DOMAIN_ID")
    assert dds.domain_id_from_environment() == 0
    for bad in ("abc", "233", "-1"):
        monkeypatch.setenv("ROS_DOMAIN_ID", bad)
        with pytest.raises(ValueError, match="ROS_DOMAIN_ID must be an integer|domain id must be an int"):
            dds.domain_id_from_environment()
    monkeypatch.setenv("CYCLONEDDS_URI", "file:///etc/robot/cyclone.xml")
    # the user's file comes last, so its settings win; the Fast DDS 3 interop setting goes first
    expected = f"{dds.INTEROP_CONFIG},file:///etc/robot/cyclone.xml"
    assert dds.configure_environment() == expected
    assert dds.configure_environment() == expected and os.environ["CYCLONEDDS_URI"] == expected  # idempotent
    monkeypatch.delenv("CYCLONEDDS_URI")
    assert dds.configure_environment() == LOOPBACK_CONFIG
    assert LOOPBACK_CONFIG.startswith(dds.INTEROP_CONFIG + ",")


def _malformed_rtps_packets(domain: int, per_port: int) -> int:
    """Send RTPS packets whose DATA submessage overruns the packet to the domain's discovery ports."""
    import socket

    packet = b"RTPS\x02\x01\x01\x10" + bytes(12) + bytes([0x15, 0x01, 0xFF, 0x00]) + bytes(8)
    base = 7400 + 250 * domain + 10  # Cyclone's default port mapping, participant index 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for index in range(32):  # LOOPBACK_CONFIG's MaxAutoParticipantIndex
            for _ in range(per_port):
                sock.sendto(packet, ("127.0.0.1", base + 2 * index))
    return per_port


def test_cyclone_log_lines_are_rate_limited(domain_id, capfd, monkeypatch):
    """Cyclone logs each malformed packet; robocritic's domains pass at most LOG_BURST lines per window."""
    from robocritic.ros.transport import dds

    node = make_node("log_probe", transport="dds")  # its domain logs through dds.CycloneLog
    try:
        log = dds.CYCLONE_LOG
        monkeypatch.setattr(log, "_window_end", time.monotonic() + 60.0)  # one window for the whole test
        monkeypatch.setattr(log, "_passed", 0)
        monkeypatch.setattr(log, "_suppressed", 0)
        sent = _malformed_rtps_packets(domain_id, per_port=2 * dds.LOG_BURST)
        deadline = time.monotonic() + TIMEOUT_S
        while log._passed + log._suppressed < sent:
            assert time.monotonic() < deadline, f"Cyclone reported {log._passed + log._suppressed} of {sent}"
            time.sleep(0.02)
        lines = [line for line in capfd.readouterr().err.splitlines() if "malformed packet" in line]
        assert len(lines) == dds.LOG_BURST and log._suppressed == sent - dds.LOG_BURST
        assert f"[{domain_id}]" in lines[0]
    finally:
        node.destroy()


def test_samples_cyclone_drops_count_as_receive_errors(domain_id, caplog):
    """A ``deserialization ... failed`` line from Cyclone counts once on every subscription to that topic."""
    from robocritic.ros.transport import dds

    a = make_node("drop_a", transport="dds", namespace=NS)
    b = make_node("drop_b", transport="dds", namespace=NS)
    try:
        sub_a = a.create_subscription(Twist, "dropped", lambda m: None, 1)
        sub_b = b.create_subscription(Twist, f"/{NS}/dropped", lambda m: None, 1)
        other = b.create_subscription(Twist, "elsewhere", lambda m: None, 1)
        line = (
            f"1796319153.108415 [{domain_id}]       recv: data(application, vendor 1.15): "
            f"10f7f01:5d2750c7:0:1303 #1: deserialization rt/{NS}/dropped/geometry_msgs::msg::dds_::Twist_ "
            "failed (for reasons unknown)\n"
        )  # as Cyclone prints it
        for _ in range(3):
            dds.CYCLONE_LOG.handle(line)
        topic = f"/{NS}/dropped"
        assert dict(a.stats.receive_errors) == {topic: 3} and dict(b.stats.receive_errors) == {topic: 3}
        assert (sub_a.errors, sub_b.errors, other.errors) == (3, 3, 0)
        logged = [r.getMessage() for r in caplog.records if "dropped an undecodable sample" in r.getMessage()]
        assert len(logged) == 2, logged  # one per node: the error log is throttled per topic
        assert "Cyclone DDS could not deserialise it (for reasons unknown)" in logged[0]
    finally:
        b.destroy()
        a.destroy()


def test_publisher_waits_until_a_reliable_reader_acknowledged(domain_id):
    """What a controller's safe stop relies on before its node is destroyed: the wait returns
    True once the matched reliable reader has the sample (and at once with nothing in flight)."""
    a = make_node("stopper", transport="dds")
    b = make_node("robot", transport="dds")
    try:
        got = []
        b.create_subscription(Twist, f"/{NS}/stop", got.append, QoSProfile(depth=1))
        pub = a.create_publisher(Twist, f"/{NS}/stop", QoSProfile(depth=1))
        deadline = time.monotonic() + TIMEOUT_S
        while pub.get_subscription_count() < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert pub.wait_for_acknowledgements(0.0)  # nothing published yet
        pub.publish(Twist(linear=Vector3(x=1.0)))
        assert pub.wait_for_acknowledgements(5.0)
        b.spin(0.2)
        assert [m.linear.x for m in got] == [1.0]
    finally:
        b.destroy()
        a.destroy()
