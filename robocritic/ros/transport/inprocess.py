"""In-process transport: nodes on one :class:`InProcessBus`, driven step by step by the caller.

Deterministic by construction: no threads, virtual time, and one global FIFO of deliveries, so
the same node graph fed the same inputs runs the same callbacks in the same order every time.
Use it for lockstep closed-loop tests::

    bus = InProcessBus()
    sim = make_node("sim", transport="inprocess", bus=bus)
    ctl = make_node("ctl", transport="inprocess", bus=bus)
    ...
    bus.step(0.01)          # advance virtual time 10 ms: fire due timers, deliver every message

Publishing copies each message through its CDR bytes by default (``copy_messages=True``), so a
subscriber sees exactly what it would get over DDS (and cannot alias the publisher's object). QoS
matching and ``KEEP_LAST`` queue limits behave as in DDS; reliable delivery never loses a message.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..msgs import cdr
from ..qos import Durability, History, QoSProfile, as_qos
from .base import LocalNode, MsgT, Publisher, Subscription

_NS_PER_S = 1_000_000_000


@dataclass
class _Delivery:
    seq: int
    subscription: InProcessSubscription
    payload: Any  # bytes when copying, else the message object
    alive: bool = True


@dataclass
class _Topic:
    msg_type: type
    publishers: list[InProcessPublisher] = field(default_factory=list)
    subscriptions: list[InProcessSubscription] = field(default_factory=list)


class InProcessBus:
    """A deterministic message bus with a virtual clock shared by the nodes on it.

    Args:
        start_time_s: initial virtual time [s] (what ``now()`` returns without ``use_sim_time``).
        copy_messages: deliver a CDR round-trip copy of each message (``True``) or the object
            itself (``False``; faster, but subscribers share the publisher's object).
        max_callbacks_per_step: guard against message loops (A publishes to B publishes to A ...);
            exceeding it raises ``RuntimeError``.
    """

    def __init__(
        self,
        *,
        start_time_s: float = 0.0,
        copy_messages: bool = True,
        max_callbacks_per_step: int = 1_000_000,
    ) -> None:
        if start_time_s < 0:
            raise ValueError(f"start_time_s must be >= 0; got {start_time_s}")
        self._time_ns = round(start_time_s * _NS_PER_S)
        self.copy_messages = copy_messages
        self.max_callbacks_per_step = max_callbacks_per_step
        self._topics: dict[str, _Topic] = {}
        self._queue: deque[_Delivery] = deque()
        self._seq = 0
        self._nodes: list[InProcessNode] = []

    # --- clock ------------------------------------------------------------------------------

    @property
    def time_ns(self) -> int:
        """Virtual time [ns]."""
        return self._time_ns

    @property
    def time_s(self) -> float:
        """Virtual time [s]."""
        return self._time_ns / _NS_PER_S

    # --- driving ----------------------------------------------------------------------------

    def pending(self) -> int:
        """Messages queued and not yet delivered."""
        return sum(d.alive for d in self._queue)

    def spin_once(self) -> int:
        """Deliver the messages queued now (not those published meanwhile), then fire due timers.

        Returns the number of callbacks run.
        """
        calls = 0
        for _ in range(len(self._queue)):
            calls += self._deliver(self._queue.popleft())
        return calls + self._fire_timers()

    def spin_until_idle(self) -> int:
        """Deliver messages (including those the callbacks publish) until none are left.

        Fires timers due at the current virtual time too. Returns the number of callbacks run.
        """
        calls = self._fire_timers()
        while self._queue:
            calls += self._deliver(self._queue.popleft())
            if calls > self.max_callbacks_per_step:
                raise RuntimeError(
                    f"more than {self.max_callbacks_per_step} callbacks without the bus going idle: "
                    "a message loop between nodes?"
                )
        return calls

    def step(self, dt_s: float) -> int:
        """Advance virtual time by ``dt_s`` [s], firing timers in deadline order.

        After each batch of timers due at the same instant, every resulting message is delivered
        before time moves on. Returns the number of callbacks run.
        """
        if dt_s < 0:
            raise ValueError(f"dt_s must be >= 0; got {dt_s}")
        return self.advance_to_ns(self._time_ns + round(dt_s * _NS_PER_S))

    def advance_to_ns(self, t_ns: int) -> int:
        """Advance virtual time to ``t_ns`` [ns] (see :meth:`step`)."""
        if t_ns < self._time_ns:
            raise ValueError(f"cannot go back in time from {self._time_ns} ns to {t_ns} ns")
        calls = self.spin_until_idle()
        while True:
            deadlines = [
                d for node in self._wall_nodes() if (d := node._next_timer_deadline_ns()) is not None
            ]
            next_ns = min(deadlines, default=None)
            if next_ns is None or next_ns > t_ns:
                break
            self._time_ns = max(self._time_ns, next_ns)
            calls += self.spin_until_idle()
        self._time_ns = t_ns
        return calls + self.spin_until_idle()

    # --- node and endpoint bookkeeping ------------------------------------------------------

    def create_node(
        self,
        name: str,
        namespace: str = "",
        parameters: Mapping[str, Any] | None = None,
        remappings: Mapping[str, str] | None = None,
    ) -> InProcessNode:
        """A node on this bus (same as ``make_node(..., transport="inprocess", bus=self)``)."""
        return InProcessNode(
            name, namespace=namespace, parameters=parameters, remappings=remappings, bus=self
        )

    def _wall_nodes(self) -> list[InProcessNode]:
        return [n for n in self._nodes if not n.use_sim_time and not n._destroyed]

    def _fire_timers(self) -> int:
        return sum(node._fire_due_timers() for node in self._wall_nodes())

    def _topic(self, name: str, msg_type: type) -> _Topic:
        topic = self._topics.setdefault(name, _Topic(msg_type))
        if topic.msg_type is not msg_type:
            raise TypeError(
                f"topic {name} already carries {topic.msg_type.__module__}.{topic.msg_type.__qualname__}; "
                f"cannot use it for {msg_type.__module__}.{msg_type.__qualname__}"
            )
        return topic

    def _add_publisher(self, pub: InProcessPublisher) -> None:
        topic = self._topic(pub.topic, pub.msg_type)
        topic.publishers.append(pub)
        for sub in topic.subscriptions:
            self._warn_if_incompatible(pub, sub)

    def _add_subscription(self, sub: InProcessSubscription) -> None:
        topic = self._topic(sub.topic, sub.msg_type)
        topic.subscriptions.append(sub)
        for pub in topic.publishers:
            if self._warn_if_incompatible(pub, sub):
                continue
            # TRANSIENT_LOCAL: a late joiner gets what the publisher kept, oldest first.
            if sub.qos.durability is Durability.TRANSIENT_LOCAL:
                for payload in pub._history:
                    self._enqueue(sub, payload)

    def _remove(self, endpoint: InProcessPublisher | InProcessSubscription) -> None:
        topic = self._topics.get(endpoint.topic)
        if topic is None:
            return
        if isinstance(endpoint, InProcessPublisher):
            topic.publishers = [p for p in topic.publishers if p is not endpoint]
        else:
            topic.subscriptions = [s for s in topic.subscriptions if s is not endpoint]
            for delivery in endpoint._pending:
                delivery.alive = False
            endpoint._pending.clear()
        if not topic.publishers and not topic.subscriptions:
            del self._topics[endpoint.topic]

    @staticmethod
    def _warn_if_incompatible(pub: InProcessPublisher, sub: InProcessSubscription) -> bool:
        reason = pub.qos.incompatibility(sub.qos)
        if reason is not None:
            sub.node.get_logger().warning(
                f"{sub.topic}: not matched with a publisher of {pub.node.name}: {reason}"
            )
        return reason is not None

    def _publish(self, pub: InProcessPublisher, msg: Any) -> None:
        payload = cdr.encode(msg) if self.copy_messages else msg
        if pub.qos.durability is Durability.TRANSIENT_LOCAL:
            pub._history.append(payload)
        for sub in self._topics[pub.topic].subscriptions:
            if pub.qos.incompatibility(sub.qos) is None:
                self._enqueue(sub, payload)

    def _enqueue(self, sub: InProcessSubscription, payload: Any) -> None:
        self._seq += 1
        delivery = _Delivery(self._seq, sub, payload)
        sub._pending.append(delivery)
        if sub.qos.history is History.KEEP_LAST and len(sub._pending) > sub.qos.depth:
            dropped = sub._pending.popleft()  # KEEP_LAST: the oldest undelivered sample goes
            dropped.alive = False
            sub.dropped += 1
        self._queue.append(delivery)

    def _deliver(self, delivery: _Delivery) -> int:
        if not delivery.alive:
            return 0
        sub = delivery.subscription
        sub._pending.popleft()  # FIFO per subscription, so it is the head
        node = sub.node
        if node._destroyed:
            return 0
        if self.copy_messages:
            try:
                msg = cdr.decode(sub.msg_type, delivery.payload)
            except Exception as exc:  # noqa: BLE001 - a bad sample is counted, never raised
                sub.errors += 1
                node._count_receive_error(sub.topic, exc)
                return 0
        else:
            msg = delivery.payload
        sub.received += 1
        if not node._invoke(sub.topic, sub.callback, msg):
            sub.errors += 1
        return 1


class InProcessPublisher(Publisher[MsgT]):
    """Publisher on an :class:`InProcessBus`; ``publish`` only queues, the driven bus delivers."""

    def __init__(self, node: InProcessNode, topic: str, msg_type: type[MsgT], qos: QoSProfile) -> None:
        super().__init__(topic, msg_type, qos)
        self.node = node
        self._history: deque[Any] = deque(maxlen=qos.depth if qos.history is History.KEEP_LAST else None)
        self._destroyed = False

    def publish(self, msg: MsgT) -> None:
        self._check(msg)
        if self._destroyed:
            raise RuntimeError(f"publisher on {self.topic} was destroyed")
        self.node._bus._publish(self, msg)
        self.published += 1

    def get_subscription_count(self) -> int:
        topic = self.node._bus._topics.get(self.topic)
        if topic is None or self._destroyed:
            return 0
        return sum(self.qos.incompatibility(s.qos) is None for s in topic.subscriptions)

    def wait_for_acknowledgements(self, timeout_s: float) -> bool:
        return True  # the bus delivers when it is driven; nothing is in flight between processes

    def destroy(self) -> None:
        if not self._destroyed:
            self._destroyed = True
            self.node._bus._remove(self)


class InProcessSubscription(Subscription[MsgT]):
    """Subscription on an :class:`InProcessBus`.

    Attributes:
        dropped: samples discarded because the ``KEEP_LAST`` queue overflowed before delivery.
    """

    def __init__(
        self,
        node: InProcessNode,
        topic: str,
        msg_type: type[MsgT],
        qos: QoSProfile,
        callback: Callable[[MsgT], Any],
    ) -> None:
        super().__init__(topic, msg_type, qos, callback)
        self.node = node
        self.dropped = 0
        self._pending: deque[_Delivery] = deque()
        self._destroyed = False

    def get_publisher_count(self) -> int:
        topic = self.node._bus._topics.get(self.topic)
        if topic is None or self._destroyed:
            return 0
        return sum(p.qos.incompatibility(self.qos) is None for p in topic.publishers)

    def destroy(self) -> None:
        if not self._destroyed:
            self._destroyed = True
            self.node._bus._remove(self)


class InProcessNode(LocalNode):
    """A node on an :class:`InProcessBus`; its wall clock is the bus's virtual time."""

    def __init__(
        self,
        name: str,
        *,
        bus: InProcessBus,
        namespace: str = "",
        parameters: Mapping[str, Any] | None = None,
        remappings: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(name, namespace, parameters, remappings)
        self._bus = bus
        self._endpoints: list[InProcessPublisher | InProcessSubscription] = []
        bus._nodes.append(self)
        self._init_clock()

    @property
    def bus(self) -> InProcessBus:
        """The bus this node lives on."""
        return self._bus

    def _system_now_ns(self) -> int:
        return self._bus.time_ns

    def _steady_now_ns(self) -> int:
        return self._bus.time_ns

    def create_publisher(
        self, msg_type: type[MsgT], topic: str, qos: QoSProfile | str | int | None = None
    ) -> InProcessPublisher[MsgT]:
        self._check_alive()
        pub = InProcessPublisher(self, self.resolve_topic_name(topic), msg_type, as_qos(qos))
        self._bus._add_publisher(pub)
        self._endpoints.append(pub)
        return pub

    def create_subscription(
        self,
        msg_type: type[MsgT],
        topic: str,
        callback: Callable[[MsgT], Any],
        qos: QoSProfile | str | int | None = None,
    ) -> InProcessSubscription[MsgT]:
        self._check_alive()
        sub = InProcessSubscription(self, self.resolve_topic_name(topic), msg_type, as_qos(qos), callback)
        self._bus._add_subscription(sub)
        self._endpoints.append(sub)
        return sub

    def spin_once(self, timeout_s: float | None = 0.0) -> int:
        """Run :meth:`InProcessBus.spin_until_idle` (virtual time does not move; ``timeout_s`` is ignored)."""
        return self._bus.spin_until_idle()

    def spin(self, duration_s: float | None = None) -> None:
        """Advance the bus's virtual time by ``duration_s`` [s] (required: virtual time never ends)."""
        if duration_s is None:
            raise ValueError("an in-process node spins for a given virtual duration; pass duration_s")
        self._bus.step(duration_s)

    def destroy(self) -> None:
        if self._destroyed:
            return
        self._destroyed = True
        for endpoint in self._endpoints:
            endpoint.destroy()
        self._endpoints.clear()
        for timer in self._timers:
            timer.cancel()
        self._bus._nodes = [n for n in self._bus._nodes if n is not self]

    def _check_alive(self) -> None:
        if self._destroyed:
            raise RuntimeError(f"node {self.fully_qualified_name} was destroyed")


__all__ = ["InProcessBus", "InProcessNode", "InProcessPublisher", "InProcessSubscription"]
