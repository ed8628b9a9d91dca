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
* a cable pull inside a step is ridden out by the step's target as in any update (it reopens the
  adapter itself); the campaign then keeps the adapter that target ends with;
* a step that finds the kept adapter unusable (pulled between steps, gone with a power cut), or a
  node that does not answer at once, goes through the caller's opener again: a fresh adapter and
  the opener's own patience (``open_target`` retries a booting node), the way every step did
  before — the existing reconnect rules, taken only when they are needed;
* links that are not CAN, and openers that return something other than a UDS target: the caller's
  opener, unchanged (a step opens and closes its own port).

The campaign holds one node open at a time (:mod:`.campaign_nodes`), so the shared adapter has one
reader at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType

from bmsflasher.core.errors import LinkError, NoResponseError
from bmsflasher.core.target import ResumePolicy, Target
from bmsflasher.core.types import LinkSettings
from bmsflasher.discovery.pack_nodes import SharedLinkUdsTarget, pack_node_target
from bmsflasher.links.can import CanLink
from bmsflasher.procedure.campaign_nodes import NodeOpener
from bmsflasher.protocols.uds.auth import Authenticator
from bmsflasher.protocols.uds.security import SecurityKeyProvider
from bmsflasher.protocols.uds.target import UdsOptions, UdsTarget

_BusKey = tuple[str, str]


@dataclass
class _Bus:
    """A kept adapter and what every node target on it gets (taken from the first opened target)."""

    link: CanLink
    key_provider: SecurityKeyProvider | None
    options: UdsOptions
    resume: ResumePolicy
    authenticator: Authenticator


class SharedBusOpener:
    """A :data:`~.campaign_nodes.NodeOpener` that opens each CAN adapter once (see the module docstring).

    Use it as a context manager, or call :meth:`close` when the campaign ends: the kept adapters
    are released there. After :meth:`close` it may be used again (it opens afresh).

    Attributes:
        adapter_opens: how many times a CAN adapter was opened through the caller's opener.
    """

    def __init__(self, opener: NodeOpener) -> None:
        self._opener = opener
        self._buses: dict[_BusKey, _Bus] = {}
        self.adapter_opens = 0

    def __call__(self, link: LinkSettings) -> Target:
        if link.kind != "can":
            return self._opener(link)
        key = (link.interface, link.channel)
        bus = self._buses.get(key)
        if bus is not None and bus.link.lost is None:
            try:
                return self._node(key, bus, link)
            except (LinkError, NoResponseError):
                pass  # the adapter went away between steps, or the node is not back yet: reopen below
        self._drop(key)
        seed = self._opener(link)
        if not isinstance(seed, UdsTarget):
            return seed
        self.adapter_opens += 1
        client = seed.client
        bus = _Bus(
            client.transport.link, client.key_provider, seed.options, seed.resume_policy, client.authenticator
        )
        client.close()  # its UDS session only: the adapter is the campaign's from now on
        self._buses[key] = bus
        try:
            return self._node(key, bus, link)
        except BaseException:
            self._drop(key)
            raise

    def _node(self, key: _BusKey, bus: _Bus, link: LinkSettings) -> SharedLinkUdsTarget:
        def keep(current: CanLink) -> None:
            if current is bus.link:
                return
            if self._buses.get(key) is bus:
                bus.link = current  # the step's target reopened a pulled adapter: keep the new one
            else:
                current.close()  # the bus is no longer kept: nobody else would release this adapter

        target = pack_node_target(
            bus.link,
            link.node,
            tester_address=link.tester_address,
            key_provider=bus.key_provider,
            options=bus.options,
            addressing=link.addressing,
            resume=bus.resume,
            authenticator=bus.authenticator,
            on_close=keep,
        )
        try:
            target.start()
        except BaseException:
            target.close()
            raise
        return target

    def _drop(self, key: _BusKey) -> None:
        bus = self._buses.pop(key, None)
        if bus is not None:
            bus.link.close()

    def close(self) -> None:
        """Release every kept adapter (safe to call twice)."""
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
