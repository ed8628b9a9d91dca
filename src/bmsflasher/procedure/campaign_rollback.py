"""``rollback --all``: return a whole pack to its previous set of firmware.

Two cases, decided by the campaign journal of the pack's nodes:

* an unfinished campaign is journalled (a killed run, a revert that could not finish): its revert
  runs — every node back on the confirmed image it ran before the campaign, verified, its
  configuration checked (:meth:`.campaign.Campaign.revert_unfinished`);
* otherwise every node goes back to the image in its other slot (the set before the last
  campaign), through the single-device :func:`~.rollback.manual_rollback_recorded`. Each node's
  blockers (:func:`~.rollback.rollback_blocker`: nothing to go back to, a newer image a failed update
  left, an image below the node's security counter) are read first, from every node, and any
  blocker refuses the whole pack before anything is written — a pack half rolled back is the mixed
  set this command exists to undo.

The pack's rollback is one service session (kind ``pack_rollback``) with each node's ``rollback``
session as its child, like a campaign.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Final

from bmsflasher.core.errors import BmsFlasherError
from bmsflasher.core.events import EventSink, LogLevel, LogLine, discard
from bmsflasher.core.i18n import joined, t
from bmsflasher.core.types import LinkSettings
from bmsflasher.procedure import campaign_nodes as nodes
from bmsflasher.procedure.campaign import PARENT_KEY, Campaign, CampaignOptions, SinkFor
from bmsflasher.procedure.campaign_bus import shared
from bmsflasher.procedure.campaign_journal import CampaignJournal, pack_id
from bmsflasher.procedure.campaign_plan import ReleaseSet
from bmsflasher.procedure.campaign_result import CampaignResult, NodeOutcome
from bmsflasher.procedure.rollback import manual_rollback_recorded, rollback_blocker
from bmsflasher.procedure.states import State
from bmsflasher.records import RecordsDb

BLOCKER_WORDS: Final = MappingProxyType(
    {
        "not_running": t("no application runs"),
        "no_image": t("no previous firmware"),
        "refused_by_bootloader": t("its bootloader would not start the previous firmware"),
        "newer": t("the other slot holds newer firmware, and a rollback only goes back"),
    }
)
"""Why one node cannot go back (a :class:`~bmsflasher.procedure.rollback.RollbackBlocker` kind), briefly."""

SESSION_KIND = "pack_rollback"


def _no_release() -> ReleaseSet:
    raise BmsFlasherError(t("a pack rollback installs no release set"))


def rollback_pack(
    discover: Callable[[], Sequence[LinkSettings]],
    opener: nodes.NodeOpener,
    db: RecordsDb,
    *,
    sink: EventSink = discard,
    sink_for: SinkFor = lambda _serial: discard,
    operator: str = "",
    journal_dir: Path | None = None,
    options: CampaignOptions | None = None,
) -> CampaignResult:
    """Return every node of the pack to its previous firmware (see the module docstring).

    Returns:
        ROLLED_BACK when every node runs its previous image, confirmed; REFUSED when a node cannot
        go back (nothing written); FAILED when a node's rollback failed part-way (named).
    """
    campaign_options = options or CampaignOptions(operator=operator, journal_dir=journal_dir)
    bus = shared(opener) if campaign_options.share_adapter else None  # one adapter for every node
    try:
        return _rollback_pack(
            discover, bus or opener, db, sink=sink, sink_for=sink_for, options=campaign_options
        )
    finally:
        if bus is not None:
            bus.close()


def _rollback_pack(
    discover: Callable[[], Sequence[LinkSettings]],
    opener: nodes.NodeOpener,
    db: RecordsDb,
    *,
    sink: EventSink,
    sink_for: SinkFor,
    options: CampaignOptions,
) -> CampaignResult:
    campaign_options = options
    try:
        links = list(discover())
        found = nodes.identify_all(opener, links)
    except BmsFlasherError as exc:
        return CampaignResult(State.FAILED, exc.message, None, None, error=exc)
    if not found:
        return CampaignResult(
            State.REFUSED, t("No node of the pack answered; nothing was written."), None, None
        )
    pack = pack_id([node.identity.serial_number for node in found])
    journal = CampaignJournal.load(pack, campaign_options.journal_dir)
    if journal is not None:
        sink(LogLine(LogLevel.WARNING, t("Pack {pack} has an unfinished campaign: reverting it.", pack=pack)))
        campaign = Campaign(
            _no_release, lambda: links, opener, db, sink=sink, sink_for=sink_for, options=campaign_options
        )
        return campaign.revert_unfinished(journal, found)
    blocked = [
        t("{serial}: {detail}", serial=node.identity.serial_number, detail=BLOCKER_WORDS[blocker.kind])
        for node in found
        if (blocker := rollback_blocker(node.identity)) is not None
    ]
    if blocked:
        return CampaignResult(
            State.REFUSED,
            t("Not every node can go back, so none was touched: {nodes}.", nodes=joined(blocked)),
            pack,
            None,
        )
    session = db.start_session(
        pack,
        SESSION_KIND,
        campaign_options.operator,
        None,
        {"nodes": [n.identity.serial_number for n in found]},
    )
    outcomes: list[NodeOutcome] = []
    error: BmsFlasherError | None = None
    for node in found:
        serial = node.identity.serial_number
        try:
            with nodes.opened(opener, node.link) as target:
                report = manual_rollback_recorded(
                    target,
                    db,
                    sink_for(serial),
                    operator=campaign_options.operator,
                    journal_folder=campaign_options.journal_dir,
                    details={PARENT_KEY: session, "pack": pack},
                )
        except BmsFlasherError as exc:
            error = exc
            outcomes.append(
                NodeOutcome(
                    serial,
                    "",
                    node.identity.model,
                    str(node.identity.firmware_version),
                    None,
                    None,
                    None,
                    State.FAILED.value,
                    exc.message,
                )
            )
            break
        outcomes.append(
            NodeOutcome(
                serial,
                "",
                node.identity.model,
                str(report.from_version),
                str(report.to_version),
                str(report.to_version),
                True,
                State.ROLLED_BACK.value,
            )
        )
    outcome = State.ROLLED_BACK if error is None else State.FAILED
    db.finish_session(session, outcome.value, None, None)
    reason = (
        t("Every node of pack {pack} runs its previous firmware, confirmed.", pack=pack)
        if error is None
        else t("The pack rollback stopped at a node: {error}", error=error.message)
    )
    return CampaignResult(outcome, reason, pack, None, tuple(outcomes), session_id=session, error=error)
