"""ROS 2 wire-compatible DDS transport on the cyclonedds Python binding (no ROS install needed).

What makes it interoperate with rmw_cyclonedds nodes on the same domain:

- topic ``/x`` is the DDS topic ``rt/x`` (names expanded and remapped the ROS way);
- message classes from :mod:`robocritic.ros.msgs` carry the ROS 2 DDS type names and CDR layout;
- QoS maps one to one (:meth:`robocritic.ros.qos.QoSProfile.to_cyclonedds`);
- the domain comes from ``ROS_DOMAIN_ID`` (default 0).

Configuration: unless the user already set ``CYCLONEDDS_URI``, the process uses
:data:`LOOPBACK_CONFIG`: loopback interface only, no multicast, nothing leaves the machine.
Discovery is unicast to the ports of participant indexes 0..32 on 127.0.0.1, repeated every
second and never pruned, so a default-configured ROS 2 node on the same machine (which binds its
unicast discovery ports on every address and announces multicast only) finds these nodes whether
it starts before or after them. To join a robot's network instead, name its interface and allow
multicast, as the ROS 2 nodes there do::

    export CYCLONEDDS_URI='<CycloneDDS><Domain Id="any"><General><Interfaces>
      <NetworkInterface name="eth0"/></Interfaces><AllowMulticast>true</AllowMulticast>
      </General></Domain></CycloneDDS>'

(or ``file:///path/to/cyclonedds.xml``, the same file rmw_cyclonedds nodes use). Either way
:data:`INTEROP_CONFIG` goes first, so Cyclone matches Fast DDS 3 (Kilted) endpoints by type name.

Execution: each node owns a WaitSet with one ReadCondition per subscription and a GuardCondition
to wake it; :meth:`DdsNode.spin` runs the callbacks on the calling thread, and
:meth:`DdsNode.spin_in_thread` on a daemon thread. Either way one node's callbacks never overlap.
Nodes in one process share one DomainParticipant per domain, as ROS 2 nodes share a context.
Graph: each participant publishes its nodes and their readers/writers on ``ros_discovery_info``
as rmw_cyclonedds does (:mod:`.discovery`), so ``ros2 node list/info`` show these nodes; the
message layout follows ``ROS_DISTRO`` (Iron and later by default, Humble's with
``ROS_DISTRO=humble``; see :mod:`robocritic.ros.msgs.rmw_dds_common`).
Errors: a sample Cyclone cannot deserialise never reaches Python; :class:`CycloneLog` counts it
in the subscribing nodes' ``stats.receive_errors`` and rate-limits Cyclone's log lines.
Not implemented: parameter services and ROS services.
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..msgs import cdr
from ..qos import QoSProfile, as_qos
from .base import LocalNode, MsgT, Publisher, Subscription, Timer
from .cyclone_log import LOG_BURST, LOG_WINDOW_S, CycloneLog
from .discovery import ParticipantDiscovery
from .names import dds_topic_name

INTEROP_CONFIG = (
    '<CycloneDDS xmlns="https://cdds.io/config"><Domain Id="any"><Compatibility>'
    # Fast DDS 3 (Kilted) announces XTypes type information that Cyclone cannot use for
    # sequence types (element flags without try-construct bits, and minimal types answered with
    # complete ones), so readers and writers never match. Ignoring eProsima's (vendor 1.15) type
    # information makes Cyclone match by type name, as every ROS 2 rmw does.
    "<IgnoreTypeInformation>1.15</IgnoreTypeInformation>"
    "</Compatibility></Domain></CycloneDDS>"
)
"""Cyclone XML robocritic puts before any ``CYCLONEDDS_URI`` (a later entry of the user's wins)."""

LOOPBACK_CONFIG = INTEROP_CONFIG + "," + (
    '<CycloneDDS xmlns="https://cdds.io/config"><Domain Id="any">'
    '<General><Interfaces><NetworkInterface name="lo"/></Interfaces>'
    "<AllowMulticast>false</AllowMulticast></General>"
    "<Discovery><ParticipantIndex>auto</ParticipantIndex>"
    "<MaxAutoParticipantIndex>32</MaxAutoParticipantIndex>"
    '<Peers><Peer address="127.0.0.1"/></Peers>'
    # Re-announce every second and keep pinging the peer ports that never answered (Cyclone
    # drops them after 30 s by default): a ROS 2 node that starts later announces itself by
    # multicast only, which this configuration cannot hear, but it answers unicast pings.
    "<SPDPInterval>1s</SPDPInterval><InitialLocatorPruneDelay>inf</InitialLocatorPruneDelay>"
    "</Discovery></Domain></CycloneDDS>"
)
"""Cyclone configuration (a ``CYCLONEDDS_URI`` list) for loopback-only operation; the default."""

MAX_DOMAIN_ID = 232  # Cyclone's default port mapping (7400 + 250 * id + ...) must stay below 65536
_PAD4 = bytes(4)
_TAKE_BATCH = 256  # samples taken per reader per wake-up; bounds the time one busy topic holds the loop


def configure_environment() -> str:
    """Set ``CYCLONEDDS_URI`` to :data:`LOOPBACK_CONFIG`, or the user's value after :data:`INTEROP_CONFIG`.

    Returns the value. Cyclone reads the variable when the first participant of a domain is
    created, so this runs before any participant exists. Cyclone merges the comma-separated
    entries in order, so every setting of the user's own configuration still wins.
    """
    uri = os.environ.get("CYCLONEDDS_URI", "").strip()
    if not uri:
        uri = LOOPBACK_CONFIG
    elif not uri.startswith(INTEROP_CONFIG):
        uri = f"{INTEROP_CONFIG},{uri}"
    os.environ["CYCLONEDDS_URI"] = uri
    return uri


def domain_id_from_environment() -> int:
    """``ROS_DOMAIN_ID`` as an int (default 0); ``ValueError`` if malformed or out of range."""
    raw = os.environ.get("ROS_DOMAIN_ID", "").strip()
    if not raw:
        return 0
    try:
        domain_id = int(raw)
    except ValueError:
        raise ValueError(f"ROS_DOMAIN_ID must be an integer; got {raw!r}") from None
    return check_domain_id(domain_id)


def check_domain_id(domain_id: int) -> int:
    """Return ``domain_id`` if Cyclone can use it (0..232)."""
    if isinstance(domain_id, bool) or not isinstance(domain_id, int) or not 0 <= domain_id <= MAX_DOMAIN_ID:
        raise ValueError(f"DDS domain id must be an int in [0, {MAX_DOMAIN_ID}]; got {domain_id!r}")
    return domain_id


# --- one participant per domain per process ----------------------------------------------------


@dataclass
class _Participant:
    participant: Any
    discovery: ParticipantDiscovery  # this participant's nodes on ros_discovery_info
    users: int = 0
    topics: dict[str, Any] = field(default_factory=dict)  # DDS topic name -> Topic
    nodes: weakref.WeakSet = field(default_factory=weakref.WeakSet)  # DdsNodes on this participant


_PARTICIPANTS: dict[int, _Participant] = {}
_PARTICIPANTS_LOCK = threading.Lock()


def _acquire_participant(domain_id: int) -> _Participant:
    from cyclonedds.domain import DomainParticipant
    from cyclonedds.qos import Policy, Qos

    with _PARTICIPANTS_LOCK:
        entry = _PARTICIPANTS.get(domain_id)
        if entry is None:
            configure_environment()
            # rmw_cyclonedds announces the security enclave in USER_DATA; ROS 2 tools read it.
            with CYCLONE_LOG.capture():  # the domain this creates logs its warnings to us
                participant = DomainParticipant(domain_id, qos=Qos(Policy.Userdata(b"enclave=/;")))
            entry = _PARTICIPANTS[domain_id] = _Participant(participant, ParticipantDiscovery(participant))
        entry.users += 1
        return entry


def _release_participant(domain_id: int) -> None:
    with _PARTICIPANTS_LOCK:
        entry = _PARTICIPANTS.get(domain_id)
        if entry is None:
            return
        entry.users -= 1
        if entry.users <= 0:
            del _PARTICIPANTS[domain_id]
            entry.topics.clear()
            _delete(entry.participant)  # deletes every remaining child entity in C too


def _forget_endpoint(entity: Any) -> None:
    """Drop a reader's or writer's gid from ros_discovery_info; call before deleting it."""
    with _PARTICIPANTS_LOCK:
        entries = list(_PARTICIPANTS.values())
    for entry in entries:
        entry.discovery.remove_endpoint(entity)


def _topic(entry: _Participant, dds_name: str, msg_type: type) -> Any:
    from cyclonedds.topic import Topic

    with _PARTICIPANTS_LOCK:
        topic = entry.topics.get(dds_name)
        if topic is None:
            topic = entry.topics[dds_name] = Topic(entry.participant, dds_name, msg_type)
        elif topic.data_type is not msg_type:
            raise TypeError(
                f"DDS topic {dds_name} already carries {topic.data_type.__idl_typename__} in this process; "
                f"cannot use it for {msg_type.__idl_typename__}"
            )
        return topic


def _count_dropped_sample(domain_id: int, dds_topic: str, why: str) -> bool:
    """Count a sample Cyclone dropped on every subscription to it; False if there is none."""
    with _PARTICIPANTS_LOCK:
        entry = _PARTICIPANTS.get(domain_id)
        nodes = list(entry.nodes) if entry is not None else []
    error = cdr.CdrError(f"Cyclone DDS could not deserialise it ({why})")
    counted = False
    for node in nodes:
        for sub in node._live_subscriptions():
            if sub.dds_topic == dds_topic:
                sub.errors += 1
                node._count_receive_error(sub.topic, error)
                counted = True
    return counted


CYCLONE_LOG = CycloneLog(_count_dropped_sample)
"""The process's one :class:`CycloneLog`; every domain robocritic creates logs through it."""


def _delete(entity: Any) -> None:
    # cyclonedds-python deletes an entity only when the object is garbage collected; its __del__
    # is idempotent (it forgets the handle), so calling it makes the deletion happen now.
    entity.__del__()


# --- endpoints ---------------------------------------------------------------------------------


class DdsPublisher(Publisher[MsgT]):
    """A DataWriter on ``rt/<topic>``."""

    def __init__(self, node: DdsNode, topic: str, msg_type: type[MsgT], qos: QoSProfile) -> None:
        # cyclonedds' private C layer (ddspy_write here, ddspy_take in DdsSubscription): acceptable
        # only because pyproject.toml pins cyclonedds <12, the series these calls were checked on;
        # raising that pin means re-checking both (tests/ros/test_transport_dds.py exercises them).
        from cyclonedds._clayer import ddspy_write
        from cyclonedds.pub import DataWriter

        super().__init__(topic, msg_type, qos)
        self.dds_topic = dds_topic_name(topic)
        self._writer = DataWriter(
            node._entry.participant, _topic(node._entry, self.dds_topic, msg_type), qos.to_cyclonedds()
        )
        self._write_raw = ddspy_write
        self._destroyed = False

    def publish(self, msg: MsgT) -> None:
        self._check(msg)
        if self._destroyed:
            raise RuntimeError(f"publisher on {self.topic} was destroyed")
        # cdr.encode is several times faster than cyclonedds' generic serialiser (same bytes);
        # the raw write takes it padded to 4 bytes, as DataWriter.write pads it.
        data = cdr.encode(msg)
        ret = self._write_raw(self._writer._ref, data + _PAD4[: -len(data) & 3])
        if ret < 0:
            from cyclonedds.core import DDSException

            raise DDSException(ret, f"writing to {self.dds_topic}")
        self.published += 1

    def get_subscription_count(self) -> int:
        return 0 if self._destroyed else len(self._writer.get_matched_subscriptions())

    def wait_for_acknowledgements(self, timeout_s: float) -> bool:
        return self._destroyed or bool(self._writer.wait_for_acks(int(timeout_s * 1e9)))

    def destroy(self) -> None:
        if not self._destroyed:
            self._destroyed = True
            _forget_endpoint(self._writer)  # ros_discovery_info
            _delete(self._writer)


class DdsSubscription(Subscription[MsgT]):
    """A DataReader on ``rt/<topic>`` whose samples the node's executor takes and dispatches.

    Attributes:
        last_source_timestamp_ns: writer-side timestamp of the last sample taken [ns, wall clock].
    """

    def __init__(
        self,
        node: DdsNode,
        topic: str,
        msg_type: type[MsgT],
        qos: QoSProfile,
        callback: Callable[[MsgT], Any],
    ) -> None:
        from cyclonedds.core import InstanceState, ReadCondition, SampleState, ViewState
        from cyclonedds.sub import DataReader

        super().__init__(topic, msg_type, qos, callback)
        self.dds_topic = dds_topic_name(topic)
        self.last_source_timestamp_ns = 0
        self._reader = DataReader(
            node._entry.participant, _topic(node._entry, self.dds_topic, msg_type), qos.to_cyclonedds()
        )
        self._mask = SampleState.Any | ViewState.Any | InstanceState.Any
        self.condition = ReadCondition(self._reader, self._mask)
        self._node = node
        self._destroyed = False

    def get_publisher_count(self) -> int:
        return 0 if self._destroyed else len(self._reader.get_matched_publications())

    def _take_raw(self) -> list[tuple[bytes, Any]]:
        # The raw take gives CDR bytes per sample, so one undecodable sample is dropped alone
        # instead of failing DataReader.take() for the whole batch. Private API: see the note in
        # DdsPublisher (the cyclonedds <12 pin is what makes it acceptable).
        from cyclonedds._clayer import ddspy_take

        result = ddspy_take(self._reader._ref, self._mask, _TAKE_BATCH)
        if isinstance(result, int):  # a negative DDS return code
            from cyclonedds.core import DDSException

            raise DDSException(result, f"taking samples from {self.dds_topic}")
        return result

    def destroy(self) -> None:
        if not self._destroyed:
            self._destroyed = True
            self._node._detach(self)
            _delete(self.condition)
            _delete(self._reader)


class DdsNode(LocalNode):
    """A node on the ROS 2 wire-compatible DDS transport.

    Args:
        name: node name.
        namespace: node namespace.
        parameters: parameter overrides (name -> value), e.g. from a launch file.
        remappings: topic remaps (from -> to), expanded in the node's context.
        domain_id: DDS domain; default ``ROS_DOMAIN_ID`` or 0.
    """

    def __init__(
        self,
        name: str,
        *,
        namespace: str = "",
        parameters: Mapping[str, Any] | None = None,
        remappings: Mapping[str, str] | None = None,
        domain_id: int | None = None,
    ) -> None:
        from cyclonedds.core import GuardCondition, WaitSet

        super().__init__(name, namespace, parameters, remappings)
        self.domain_id = domain_id_from_environment() if domain_id is None else check_domain_id(domain_id)
        self._entry = _acquire_participant(self.domain_id)
        self._lock = threading.RLock()  # guards the endpoint lists against create/destroy from other threads
        self._spin_lock = threading.Lock()  # one spinner at a time, so callbacks never overlap
        self._waitset = WaitSet(self._entry.participant)
        self._wakeup = GuardCondition(self._entry.participant)
        self._waitset.attach(self._wakeup)
        self._publishers: list[DdsPublisher] = []
        self._subscriptions: list[DdsSubscription] = []
        self._thread: threading.Thread | None = None
        self._spinner: int | None = None  # ident of the thread inside spin_once
        self._released = False
        self._entry.nodes.add(self)  # receive errors Cyclone reports by DDS topic (CycloneLog)
        self._entry.discovery.add_node(self, self.namespace, self.name)  # ros_discovery_info
        try:
            self._init_clock()
        except BaseException:
            self.destroy()
            raise

    # --- clocks -----------------------------------------------------------------------------

    def _system_now_ns(self) -> int:
        return time.time_ns()

    def _steady_now_ns(self) -> int:
        return time.monotonic_ns()

    # --- endpoints --------------------------------------------------------------------------

    def create_publisher(
        self, msg_type: type[MsgT], topic: str, qos: QoSProfile | str | int | None = None
    ) -> DdsPublisher[MsgT]:
        self._check_alive()
        pub = DdsPublisher(self, self.resolve_topic_name(topic), msg_type, as_qos(qos))
        self._entry.discovery.add_writer(self, pub._writer)  # ros_discovery_info
        with self._lock:
            self._publishers.append(pub)
        return pub

    def create_subscription(
        self,
        msg_type: type[MsgT],
        topic: str,
        callback: Callable[[MsgT], Any],
        qos: QoSProfile | str | int | None = None,
    ) -> DdsSubscription[MsgT]:
        self._check_alive()
        sub = DdsSubscription(self, self.resolve_topic_name(topic), msg_type, as_qos(qos), callback)
        self._entry.discovery.add_reader(self, sub._reader)  # ros_discovery_info
        with self._lock:
            self._subscriptions.append(sub)
            self._waitset.attach(sub.condition)
        self._wakeup.set(True)  # let a waiting executor pick up the new condition
        return sub

    def create_timer(self, period_s: float, callback: Callable[[], Any]) -> Timer:
        timer = super().create_timer(period_s, callback)
        self._wakeup.set(True)  # a waiting executor must recompute its timeout
        return timer

    def _live_subscriptions(self) -> list[DdsSubscription]:
        with self._lock:
            return [s for s in self._subscriptions if not s._destroyed]

    def _detach(self, sub: DdsSubscription) -> None:
        self._entry.discovery.remove_endpoint(sub._reader)  # ros_discovery_info
        with self._lock:
            self._subscriptions = [s for s in self._subscriptions if s is not sub]
            self._waitset.detach(sub.condition)

    # --- execution --------------------------------------------------------------------------

    def spin_once(self, timeout_s: float | None = 0.0) -> int:
        """Wait up to ``timeout_s`` [s] for data, a due timer or a wake-up; run what is ready.

        Returns the number of callbacks run. ``RuntimeError`` if another thread is spinning.
        """
        if self._destroyed:
            return 0
        if not self._spin_lock.acquire(blocking=False):
            raise RuntimeError(f"node {self.fully_qualified_name} is already spinning in another thread")
        self._spinner = threading.get_ident()
        try:
            return self._spin_once_locked(timeout_s)
        finally:
            self._spinner = None
            if self._destroyed:  # destroy() was called from one of this spin's callbacks
                self._release()
            self._spin_lock.release()

    def _spin_once_locked(self, timeout_s: float | None) -> int:
        from cyclonedds.util import duration

        wait_ns = duration(infinite=True) if timeout_s is None else max(0, round(timeout_s * 1e9))
        if not self.use_sim_time:
            deadline = self._next_timer_deadline_ns()
            if deadline is not None:
                wait_ns = min(wait_ns, max(0, deadline - time.monotonic_ns()))
        self._waitset.wait(wait_ns)
        if self._destroyed:
            return 0
        self._wakeup.take()
        calls = self._dispatch_samples()
        if not self.use_sim_time:  # sim-time timers fire from the /clock callback
            calls += self._fire_due_timers()
        return calls

    def _dispatch_samples(self) -> int:
        calls = 0
        with self._lock:
            subscriptions = list(self._subscriptions)
        for sub in subscriptions:
            if sub._destroyed or self._destroyed:
                continue
            try:
                samples = sub._take_raw()
            except Exception as exc:
                self._count_receive_error(sub.topic, exc)
                continue
            for data, info in samples:
                if not info.valid_data:  # dispose/unregister notices carry no message
                    continue
                try:
                    msg = cdr.decode(sub.msg_type, data)
                except Exception as exc:
                    sub.errors += 1
                    self._count_receive_error(sub.topic, exc)
                    continue
                sub.received += 1
                sub.last_source_timestamp_ns = info.source_timestamp
                calls += 1
                if not self._invoke(sub.topic, sub.callback, msg):
                    sub.errors += 1
        return calls

    def spin(self, duration_s: float | None = None) -> None:
        """Run callbacks on this thread until :meth:`destroy` or ``KeyboardInterrupt``.

        With ``duration_s`` [s], return after that much wall time instead.
        """
        end = None if duration_s is None else time.monotonic() + duration_s
        while not self._destroyed:
            if end is None:
                self.spin_once(0.5)  # bounded wait: destroy() from a signal handler is seen promptly
            else:
                remaining = end - time.monotonic()
                if remaining <= 0:
                    break
                self.spin_once(min(remaining, 0.5))

    def spin_in_thread(self) -> threading.Thread:
        """Start a daemon thread running :meth:`spin`; :meth:`destroy` stops and joins it."""
        if self._thread is not None and self._thread.is_alive():
            return self._thread
        self._thread = threading.Thread(
            target=self.spin, name=f"spin{self.fully_qualified_name}", daemon=True
        )
        self._thread.start()
        return self._thread

    def destroy(self) -> None:
        """Stop spinning, delete readers, writers and conditions, release the participant.

        Safe from any thread, including from inside one of the node's own callbacks (the
        release then happens when that callback returns).
        """
        with self._lock:
            if self._destroyed:
                return
            self._destroyed = True
        for timer in self._timers:
            timer.cancel()
        self._wakeup.set(True)
        if self._spinner == threading.get_ident():
            return
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5.0)
        with self._spin_lock:  # waits for an in-flight spin_once on another thread
            self._release()

    def _release(self) -> None:
        if self._released:
            return
        self._released = True
        self._entry.nodes.discard(self)
        self._entry.discovery.remove_node(self)  # one ros_discovery_info update for all its endpoints
        for sub in list(self._subscriptions):
            sub.destroy()
        for pub in self._publishers:
            pub.destroy()
        self._publishers.clear()
        self._waitset.detach(self._wakeup)
        _delete(self._wakeup)
        _delete(self._waitset)
        _release_participant(self.domain_id)

    def _check_alive(self) -> None:
        if self._destroyed:
            raise RuntimeError(f"node {self.fully_qualified_name} was destroyed")


__all__ = [
    "CYCLONE_LOG",
    "INTEROP_CONFIG",
    "LOG_BURST",
    "LOG_WINDOW_S",
    "LOOPBACK_CONFIG",
    "MAX_DOMAIN_ID",
    "CycloneLog",
    "DdsNode",
    "DdsPublisher",
    "DdsSubscription",
    "check_domain_id",
    "configure_environment",
    "domain_id_from_environment",
]
