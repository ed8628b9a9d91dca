"""One CAN adapter for a whole campaign: every node step runs over the adapter the first step opened.

A pack's nodes share one CAN bus, usually behind one USB adapter (slcan). A campaign takes about
three node steps per node (gates, backup, transfer, test boot, self-test, pack checks, confirm,
the final read-back): opening the adapter for each of them cost a 1 + 1 + 2 pack about forty opens
(serial setup, the adapter's reset pause, the bit-rate command) and a second or more of a
campaign's bus time each minute. :class:`SharedBusOpener` keeps the adapter open instead:

* the first step on a bus opens its node through the caller's opener, so the keys, technician
  credentials, reconnect timeout and error sentences are those of a single-device update; the
  adapter it opened is kept, that target's UDS session ended, and every step gets a
  :class:`~bmsflasher.discovery.pack_nodes.SharedLinkUdsTarget` on the kept adapter;
* a cable pull inside a step is ridden out by the step's target as in any update (its reconnect
  loop, its timeout); the adapter it gets back is the campaign's, reopened once by the first
  target that tries, for every node open at that moment and the steps after;
* a step that finds the kept adapter unusable (pulled between steps, gone with a power cut), or a
  node that does not answer at once, goes through the caller's opener again: a fresh adapter and
  the opener's own patience (``open_target`` retries a booting node), the way every step did
  before — the existing reconnect rules, taken only when they are needed;
* links that are not CAN, and openers that return something other than a UDS target: the caller's
  opener, unchanged (a step opens and closes its own port).

Several nodes may be open at once (the campaign's read-only and per-node steps run side by side,
:mod:`.campaign`): a CAN adapter has one receive queue, so one reader thread takes every frame off
it and hands each node target its own copy (:class:`CanFanout`); each target's ISO-TP layer keeps
its node's frames and skips the rest, as it does on a busy bus. Sending is serialised. When the
reader finds the adapter gone it releases it at once, so the target that rides out the pull (or
the next step) can open it again.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from types import TracebackType
from typing import Final

import can

from bmsflasher.core.errors import LinkError, LinkLostError, NoResponseError
from bmsflasher.core.i18n import t
from bmsflasher.core.target import ResumePolicy, Target
from bmsflasher.core.types import LinkSettings
from bmsflasher.discovery.pack_nodes import SharedLinkUdsTarget, pack_node_target
from bmsflasher.links.can import CanLink
from bmsflasher.procedure.campaign_nodes import NodeOpener
from bmsflasher.protocols.uds.auth import Authenticator
from bmsflasher.protocols.uds.ids import node_address
from bmsflasher.protocols.uds.security import SecurityKeyProvider
from bmsflasher.protocols.uds.target import UdsOptions, UdsTarget

_BusKey = tuple[str, str]
_READ_SLICE_S: Final = 0.05
"""How long the reader waits for a frame before checking whether it should stop."""
_RETRY_PAUSE_S: Final = 0.2
"""Between two tries at a node that did not answer yet (``open_target``'s pace)."""


class CanFanout:
    """One reader on an open adapter; every :meth:`view` receives each frame (see the module docstring).

    Owns ``link`` from now on: :meth:`close` closes it, and so does the reader when the adapter
    goes away (the views then report it lost).
    """

    def __init__(self, link: CanLink) -> None:
        self.link = link
        self._views: list[CanLinkView] = []
        self._views_lock = threading.Lock()
        self.send_lock = threading.Lock()
        self._stop = threading.Event()
        self.lost: LinkLostError | None = None
        self._reader = threading.Thread(target=self._read_loop, name="campaign-can-reader", daemon=True)
        self._reader.start()

    @property
    def dead(self) -> LinkLostError | None:
        """Why the adapter is unusable: the reader found it gone, or a send did first (else None)."""
        return self.lost or self.link.lost

    def view(self, accept: int | None = None) -> CanLinkView:
        """A link for one node target: its own copy of every frame from now on (or of ``accept``'s only).

        ``accept`` is the node's response identifier: its target skips every other frame anyway, and
        fifteen targets each woken for every frame of the bus cost more CPU than the bus has frames.
        """
        view = CanLinkView(self, accept)
        with self._views_lock:
            self._views.append(view)
        return view

    def detach(self, view: CanLinkView) -> None:
        with self._views_lock:
            if view in self._views:
                self._views.remove(view)

    def _read_loop(self) -> None:
        while not self._stop.is_set():
            try:
                message = self.link.recv(_READ_SLICE_S)
            except LinkError as exc:
                self.lost = (
                    exc if isinstance(exc, LinkLostError) else LinkLostError(exc.message, hint=exc.hint)
                )
                self.link.close()  # release the adapter: whoever reconnects opens it again
                with self._views_lock:
                    views = list(self._views)
                for view in views:
                    view.wake()
                return
            if message is None:
                continue
            with self._views_lock:
                views = list(self._views)
            for view in views:
                if view.accept is None or view.accept == message.arbitration_id:
                    view.deliver(message)

    def close(self) -> None:
        """Stop the reader and release the adapter (safe to call twice)."""
        self._stop.set()
        if self._reader is not threading.current_thread():
            self._reader.join(timeout=2.0)
        self.link.close()


class CanLinkView(CanLink):
    """What one node target sees of a shared adapter: its own receive queue, the shared sender.

    Closing a view detaches it; the adapter stays open (its :class:`CanFanout` owns it).
    """

    def __init__(self, fanout: CanFanout, accept: int | None = None) -> None:
        super().__init__(fanout.link.config, fanout.link.bus)
        self.fanout = fanout
        self.accept = accept
        self._frames: queue.SimpleQueue[can.Message | None] = queue.SimpleQueue()

    def deliver(self, message: can.Message) -> None:
        self._frames.put(message)

    def wake(self) -> None:
        self._frames.put(None)

    @property
    def lost(self) -> LinkLostError | None:
        return self.fanout.lost or self.fanout.link.lost

    def _closed_error(self) -> LinkLostError:
        return LinkLostError(t("The CAN link {adapter} is closed.", adapter=self.config.describe()))

    def send(self, message: can.Message, timeout_s: float = 1.0) -> None:
        if self._closed:
            raise self._closed_error()
        lost = self.lost
        if lost is not None:
            raise lost
        with self.fanout.send_lock:
            self.fanout.link.send(message, timeout_s)

    def recv(self, timeout_s: float) -> can.Message | None:
        if self._closed:
            raise self._closed_error()
        try:
            message = (
                self._frames.get(timeout=max(timeout_s, 0.0)) if timeout_s > 0 else self._frames.get_nowait()
            )
        except queue.Empty:
            message = None
        if message is None:
            lost = self.lost
            if lost is not None:
                raise lost
        return message

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.fanout.detach(self)


@dataclass
class _Bus:
    """A kept adapter and what every node target on it gets (taken from the first opened target)."""

    fanout: CanFanout
    key_provider: SecurityKeyProvider | None
    options: UdsOptions
    resume: ResumePolicy
    authenticator: Authenticator


class SharedBusOpener:
    """A :data:`~.campaign_nodes.NodeOpener` that opens each CAN adapter once (see the module docstring).

    Use it as a context manager, or call :meth:`close` when the campaign ends: the kept adapters
    are released there. After :meth:`close` it may be used again (it opens afresh). Safe to call
    from several threads at once (one node each).

    Attributes:
        adapter_opens: how many times a CAN adapter was opened through the caller's opener.
    """

    def __init__(self, opener: NodeOpener) -> None:
        self._opener = opener
        self._buses: dict[_BusKey, _Bus] = {}
        self._lock = threading.Lock()
        self.adapter_opens = 0

    def __call__(self, link: LinkSettings) -> Target:
        if link.kind != "can":
            return self._opener(link)
        key = (link.interface, link.channel)
        with self._lock:
            bus = self._buses.get(key)
        if bus is not None and bus.fanout.dead is None:
            try:
                return self._node(key, bus, link)
            except LinkError:
                if bus.fanout.dead is None:
                    raise  # the adapter is there: this node's own failure
                # the adapter went away between steps: open it again below
        with self._lock:
            current = self._buses.get(key)
            if current is not None and current is not bus and current.fanout.dead is None:
                bus = current  # another node's step opened it again meanwhile
            else:
                seeded = self._seed(key, link)
                if not isinstance(seeded, _Bus):
                    return seeded
                bus = seeded
        return self._node(key, bus, link)

    def _seed(self, key: _BusKey, link: LinkSettings) -> _Bus | Target:
        """Open the adapter through the caller's opener and keep it (called under the lock)."""
        self._drop(key)
        seed = self._opener(link)
        if not isinstance(seed, UdsTarget):
            return seed
        self.adapter_opens += 1
        client = seed.client
        client.close()  # its UDS session only: the adapter is the campaign's from now on
        bus = _Bus(
            CanFanout(client.transport.link),
            client.key_provider,
            seed.options,
            seed.resume_policy,
            client.authenticator,
        )
        self._buses[key] = bus
        return bus

    def _node(self, key: _BusKey, bus: _Bus, link: LinkSettings) -> SharedLinkUdsTarget:
        """A started target on ``bus``; a node not answering yet is asked again within the reconnect time."""
        deadline = time.monotonic() + bus.resume.reconnect_timeout_s
        while True:
            target = self._target(key, bus, link)
            try:
                target.start()
            except NoResponseError:
                target.close()
                if time.monotonic() >= deadline or bus.fanout.dead is not None:
                    raise
                time.sleep(_RETRY_PAUSE_S)
                continue
            except BaseException:
                target.close()
                raise
            return target

    def _target(self, key: _BusKey, bus: _Bus, link: LinkSettings) -> SharedLinkUdsTarget:
        def keep(current: CanLink) -> None:
            if isinstance(current, CanLinkView):
                current.close()  # detach: the adapter stays with its fan-out
                return
            with self._lock:  # the step's target reopened a pulled adapter itself
                if self._buses.get(key) is bus and bus.fanout.dead is not None:
                    bus.fanout = CanFanout(current)  # keep the new one for the next steps
                else:
                    current.close()  # nobody else would release it

        try:
            accept: int | None = node_address(link.node, link.addressing, link.tester_address).response_id
        except ValueError:
            accept = None  # the target refuses the address itself, with its own sentence

        def reopen() -> CanLink:
            """A pulled adapter again, for a target riding the pull out (LinkError while it is away)."""
            with self._lock:
                if bus.fanout.dead is not None:  # the first target back reopens it for every node
                    bus.fanout.close()  # release the old adapter first (its reader may not have yet)
                    bus.fanout = CanFanout(CanLink.open(bus.fanout.link.config))
                return bus.fanout.view(accept)

        return pack_node_target(
            bus.fanout.view(accept),
            link.node,
            tester_address=link.tester_address,
            key_provider=bus.key_provider,
            options=bus.options,
            addressing=link.addressing,
            resume=bus.resume,
            authenticator=bus.authenticator,
            on_close=keep,
            reopen=reopen,
        )

    def _drop(self, key: _BusKey) -> None:
        bus = self._buses.pop(key, None)
        if bus is not None:
            bus.fanout.close()

    def close(self) -> None:
        """Release every kept adapter (safe to call twice)."""
        with self._lock:
            for key in list(self._buses):
                self._drop(key)

    def __enter__(self) -> SharedBusOpener:
        return self

    def __exit__(
        self, _type: type[BaseException] | None, _exc: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.close()


def shared(opener: NodeOpener) -> SharedBusOpener:
    """``opener`` itself when it already shares its adapters, else a :class:`SharedBusOpener` over it."""
    return opener if isinstance(opener, SharedBusOpener) else SharedBusOpener(opener)
