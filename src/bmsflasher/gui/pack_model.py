"""The pack's model: a multi-node pack (BCU, BMCs, BMUs on one CAN bus) for the Pack page and wizard.

Like :class:`~bmsflasher.gui.app_model.AppModel` for one battery, this is the only object the pack
widgets talk to, and the only one that starts work for them: reading the pack, watching the BMUs'
cells, a campaign, a pack rollback and a service report each run on a thread of their own
(:class:`~bmsflasher.gui.task_runner.TaskRunner`, the engine's ``PackCellStream``);
results come back as signals, which Qt queues to the GUI thread. The pack's bus is one adapter, so
the cells poll is stopped (and its adapter released) before anything else uses the bus.

The campaign asks for the technician's approval from its worker thread once every node passed its
gates: :attr:`PackModel.sig_approval` shows the question, :meth:`PackModel.answer_approval` lets the
worker go on (or cancel with nothing written).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from PySide6.QtCore import QT_TRANSLATE_NOOP, QObject, Signal, Slot

from bmsflasher.core.events import Event, EventSink, Progress
from bmsflasher.core.types import LinkSettings
from bmsflasher.gui.engine import CampaignApproval, Engine, PackCellStream, PackNodeInfo
from bmsflasher.gui.engine_text import later
from bmsflasher.gui.task_runner import TaskRunner

_log = logging.getLogger(__name__)

SHUTDOWN_TIMEOUT_S: Final = 10.0
PROGRESS_EVERY_S: Final = 0.05
"""A node's transfer progress is passed to the GUI at most this often (the rest is dropped, not queued)."""
BMU_TIER: Final = "bmu"


class PackModel(QObject):
    """One pack: its bus, its nodes, its live cells, its campaign.

    Args:
        engine: the engine the campaign and the records go through (the application's).
    """

    sig_nodes = Signal(object)  # tuple[PackNodeInfo, ...]
    sig_busy = Signal(str)  # what runs now ("read", "campaign", "rollback", "demo"), "" when idle
    sig_error = Signal(object, object)  # message, hint (engine text)
    sig_bus_changed = Signal(object)  # LinkSettings | None
    sig_cells_watching = Signal(object)  # tuple of BMU addresses watched, () when stopped
    sig_cell_sample = Signal(int, object)  # node address, PackTelemetry
    sig_cell_silent = Signal(int, object)  # node address, why it gave no sample (engine text)
    sig_pack_event = Signal(object)  # campaign-level event (phases, pack checks, log lines)
    sig_node_event = Signal(str, object)  # node serial, its event (steps, measurements, progress)
    sig_approval = Signal(object)  # CampaignApproval: every node passed its gates
    sig_campaign_finished = Signal(object)  # CampaignOutcome (campaign or pack rollback)
    sig_report_saved = Signal(str)  # path of the service report written
    _relay = Signal(object, object)  # (function, value): a worker's result, called on the GUI thread

    def __init__(self, engine: Engine, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.engine = engine
        self.bus: LinkSettings | None = None
        self.nodes: tuple[PackNodeInfo, ...] = ()
        self.busy = ""
        self.demo: Any = None
        """The running demo pack (``gui.demo.DemoPack``), if the technician started one."""
        self._tasks = TaskRunner()
        self._cells: PackCellStream | None = None
        self._closing: list[PackCellStream] = []
        self._approval = threading.Event()
        self._approved = False
        self._relay.connect(self._on_relay)

    # --- the bus and its nodes -------------------------------------------------------------------
    def set_bus(self, bus: LinkSettings | None) -> None:
        """The CAN bus the pack's nodes are on (from the page's fields or the demo pack)."""
        if bus != self.bus:
            self.stop_cells()
            self.bus = bus
            self.nodes = ()
            self.sig_nodes.emit(())
            self.sig_bus_changed.emit(bus)

    def read_pack(self) -> None:
        """Find every node on the bus and read who it is (one functional request, then each identity)."""
        bus = self._bus_or_error()
        if bus is None or not self._start("read"):
            return
        engine = self.engine
        self._run(
            "read pack", lambda: self._after_cells_closed(lambda: engine.read_pack(bus)), self._nodes_read
        )

    def _nodes_read(self, nodes: tuple[PackNodeInfo, ...]) -> None:
        self.nodes = nodes
        self.sig_nodes.emit(nodes)

    def start_demo_pack(
        self, topology: str | None = None, *, in_process: bool = False, bitrate: int | None = None
    ) -> None:
        """Start the virtual pack (``sim --topology``) and read it; its history and keys are its own."""
        if not self._start("demo"):
            return
        self.stop_cells()

        old, self.demo = self.demo, None
        current = self.engine

        def start() -> tuple[Any, Engine, tuple[PackNodeInfo, ...]]:
            from bmsflasher.gui.demo import DEMO_PACK_BITRATE, DEMO_PACK_TOPOLOGY, DemoPack

            if old is not None:
                old.close()
            pack = DemoPack(
                topology or DEMO_PACK_TOPOLOGY, in_process=in_process, bitrate=bitrate or DEMO_PACK_BITRATE
            )
            try:
                if current.demo:  # gui --demo: the window's demo history shows the campaigns too
                    engine = current
                else:  # a demo pack in a workshop's window never writes to the workshop's history
                    engine = Engine(
                        db_path=pack.history_path,
                        trusted_keys=[pack.trusted_key()],
                        keys_dir=pack.trusted_keys_dir,
                        journal_dir=pack.journal_dir,
                        demo=True,
                    )
                    engine.operator, engine.report_language = current.operator, current.report_language
                return pack, engine, engine.read_pack(pack.link)
            except BaseException:
                pack.close()
                raise

        def started(result: tuple[Any, Engine, tuple[PackNodeInfo, ...]]) -> None:
            self.demo, self.engine, nodes = result
            self.bus = self.demo.link
            self.sig_bus_changed.emit(self.bus)
            self._nodes_read(nodes)

        self._run("demo pack", start, started)

    def bundles_dir(self) -> Path | None:
        """Where the file dialog proposes bundles: the demo pack's releases in a demo."""
        return self.demo.bundles_dir() if self.demo is not None else None

    # --- live cells ------------------------------------------------------------------------------
    @property
    def bmu_addresses(self) -> tuple[int, ...]:
        return tuple(node.address for node in self.nodes if node.tier == BMU_TIER)

    @property
    def watching_cells(self) -> bool:
        return self._cells is not None

    @property
    def cell_stream(self) -> PackCellStream | None:
        """The running cells watch (how many samples came from frames, how many over UDS), if any."""
        return self._cells

    def watch_cells(self) -> None:
        """Watch every BMU's cells (their cyclic cell frames, UDS for a mute BMU) until :meth:`stop_cells`."""
        bus = self._bus_or_error()
        addresses = self.bmu_addresses
        if bus is None or not addresses or self.busy:
            return
        self.stop_cells()
        engine = self.engine

        def opened(link: Any) -> None:
            if self._cells is not None or self.busy:  # asked twice, or a job took the bus meanwhile
                link.close()
                return
            self._cells = link.watch(  # the BMUs' own cell frames; UDS for a BMU that sends none
                on_sample=self.sig_cell_sample.emit,
                on_silent=lambda address, error: self.sig_cell_silent.emit(address, error.message),
            )
            self.sig_cells_watching.emit(addresses)

        self._tasks.start(
            "watch pack cells",
            lambda: self._after_cells_closed(lambda: engine.open_pack_cells(bus, addresses)),
            lambda link: self._relay.emit(opened, link),
            lambda error: self._relay.emit(self._report_error, error),
        )

    def stop_cells(self) -> None:
        """Stop the cells poll; its adapter closes after the node being asked now."""
        worker, self._cells = self._cells, None
        if worker is None:
            return
        worker.stop()
        self._closing = [w for w in self._closing if w.alive] + [worker]
        self.sig_cells_watching.emit(())

    def _after_cells_closed(self, task: Callable[[], Any]) -> Any:
        """Run ``task`` once every stopped cells poll has released the adapter (worker thread)."""
        for worker in list(self._closing):
            worker.join()
        return task()

    # --- campaign and rollback -------------------------------------------------------------------
    def run_campaign(self, bundle: Path) -> None:
        """Run the pack campaign of ``bundle``; the nodes are read again when it ends."""
        bus = self._bus_or_error()
        if bus is None or not self._start("campaign"):
            return
        self.stop_cells()
        self._approval.clear()
        self._approved = False
        engine = self.engine

        def approve(question: CampaignApproval) -> bool:
            self.sig_approval.emit(question)
            self._approval.wait()
            return self._approved

        def task() -> Any:
            return self._after_cells_closed(
                lambda: engine.run_campaign(bus, bundle, self._pack_sink, self._node_sink, approve)
            )

        self._run("campaign", task, self._campaign_done)

    def answer_approval(self, approved: bool) -> None:
        """The technician's answer to :attr:`sig_approval` (a closed wizard answers False)."""
        self._approved = approved
        self._approval.set()

    def rollback_pack(self) -> None:
        """Every node back on its previous firmware (``rollback --all``), or none touched."""
        bus = self._bus_or_error()
        if bus is None or not self._start("rollback"):
            return
        self.stop_cells()
        engine = self.engine
        self._run(
            "pack rollback",
            lambda: self._after_cells_closed(
                lambda: engine.rollback_pack(bus, self._pack_sink, self._node_sink)
            ),
            self._campaign_done,
        )

    def _campaign_done(self, outcome: Any) -> None:
        self.sig_campaign_finished.emit(outcome)
        if self.bus is not None and self._start("read"):  # show the versions the nodes run now
            engine, bus = self.engine, self.bus
            self._run("read pack", lambda: engine.read_pack(bus), self._nodes_read)

    def _pack_sink(self, event: Event) -> None:
        self.sig_pack_event.emit(event)

    def _node_sink(self, serial: str) -> EventSink:
        last = [0.0]

        def sink(event: Event) -> None:
            if isinstance(event, Progress) and event.done < event.total:
                now = time.monotonic()
                if now - last[0] < PROGRESS_EVERY_S:
                    return
                last[0] = now
            self.sig_node_event.emit(serial, event)

        return sink

    def save_report(self, session_id: int, path: Path) -> None:
        """Write the pack's service report (the campaign session with its nodes table)."""
        engine = self.engine
        self._tasks.start(
            "pack report",
            lambda: engine.save_report(session_id, path),
            self.sig_report_saved.emit,
            lambda error: self._relay.emit(self._report_error, error),
        )

    # --- plumbing --------------------------------------------------------------------------------
    def _bus_or_error(self) -> LinkSettings | None:
        if self.bus is None:
            self.sig_error.emit(
                later(
                    "PackModel",
                    QT_TRANSLATE_NOOP(
                        "PackModel", "Give the pack's CAN bus (interface, channel, bit rate) first."
                    ),
                ),
                "",
            )
        return self.bus

    def _start(self, job: str) -> bool:
        """Mark ``job`` as running; False (and nothing starts) while another pack job runs."""
        if self.busy:
            return False
        self.busy = job
        self.sig_busy.emit(job)
        return True

    def _run(self, name: str, task: Callable[[], Any], on_done: Callable[[Any], None]) -> None:
        """Run the busy job ``task`` on a thread; ``on_done`` (or the error banner) on the GUI thread."""

        def finished(result: Any) -> None:
            self._idle()
            on_done(result)

        def failed(error: object) -> None:
            self._idle()
            self._report_error(error)

        self._tasks.start(
            name,
            task,
            lambda result: self._relay.emit(finished, result),
            lambda e: self._relay.emit(failed, e),
        )

    def _idle(self) -> None:
        self.busy = ""
        self.sig_busy.emit("")

    @Slot(object, object)
    def _on_relay(self, function: Callable[[Any], None], value: object) -> None:
        function(value)

    def _report_error(self, error: object) -> None:
        message = getattr(error, "message", None) or f"{type(error).__name__}: {error}"
        hint = getattr(error, "hint", None) or ""
        self.sig_error.emit(message, hint)

    def close(self) -> None:
        """Stop the poll, refuse a pending approval, join the tasks (bounded), stop the demo pack."""
        self.stop_cells()
        self.answer_approval(False)
        for worker in self._closing:
            worker.join(SHUTDOWN_TIMEOUT_S)
        self._closing = []
        if not self._tasks.join(SHUTDOWN_TIMEOUT_S):
            _log.warning("pack tasks still running at exit")
        demo, self.demo = self.demo, None
        if demo is not None:
            demo.close()
