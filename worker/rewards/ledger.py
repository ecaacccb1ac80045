"""The inputs of the residue rule (residue.py), read from the chain at one block and from the reports of
the epochs standing there: the same function serves the epoch service and `verify epoch`.

A standing epoch's report that is not in the content store is an error (a verifier without it cannot
judge); one whose CID is unusable or whose bytes are malformed counts as spending no units, on every
machine alike.
"""

from __future__ import annotations

from worker.chain.client import ChainClient
from worker.chain.events import DecodedEvent
from worker.rewards.aggregation import unit_value
from worker.rewards.epoch_report import EpochReport
from worker.rewards.errors import ReportMalformed
from worker.rewards.reports import fetch_report
from worker.rewards.residue import PaidUnits, PoolLedger, UnitKey
from worker.storage import ContentStore
from worker.storage.errors import InvalidCidError


def pool_available(client: ChainClient, model_id: int, block: int) -> int:
    available, _reserved = client.vault.contract.functions.pool(model_id).call(block_identifier=block)
    return int(available)


def paid_units(client: ChainClient, model_id: int, block: int) -> tuple[PaidUnits, ...]:
    """Every payment for `model_id` mined at or before `block`, by payment id."""
    start = client.deployment.block_number
    events = client.vault.get_events("InferencePaid", start, block, None, model_id)
    times: dict[int, int] = {}
    found = []
    for event in events:
        if event.block_number not in times:
            times[event.block_number] = client.block_timestamp(event.block_number)
        count = int(event.args["requestCount"])
        value = unit_value(int(event.args["contributorsShare"]), count)
        found.append(PaidUnits(int(event.args["paymentId"]), count, value, times[event.block_number]))
    return tuple(sorted(found, key=lambda p: p.payment_id))


def _position(event: DecodedEvent) -> tuple[int, int]:
    return (event.block_number, event.log_index)


def standing_report_cids(client: ChainClient, model_id: int, block: int) -> list[str]:
    """Report CIDs of the model's epochs standing at `block`: the latest post of each epoch, unless an
    upheld or lapsed challenge voided it at or before `block`; by epoch."""
    vault, start = client.vault, client.deployment.block_number
    latest = {int(e.args["epoch"]): e for e in vault.get_events("EpochPosted", start, block, model_id)}
    resolved = vault.get_events("EpochChallengeResolved", start, block, model_id)
    voids = [e for e in resolved if e.args["upheld"]]
    voids += vault.get_events("EpochChallengeLapsed", start, block, model_id)
    voided = {
        epoch
        for epoch, post in latest.items()
        if any(int(v.args["epoch"]) == epoch and _position(v) > _position(post) for v in voids)
    }
    return [str(latest[e].args["reportCid"]) for e in sorted(latest) if e not in voided]


def report_units(store: ContentStore, cid: str) -> set[UnitKey]:
    """The units a standing epoch's report spends."""
    try:
        receipts = EpochReport.from_bytes(fetch_report(store, cid)).receipts
    except (InvalidCidError, ReportMalformed):
        return set()
    return {(r.payment_id, r.request_index) for r in receipts}


def read_ledger(
    client: ChainClient, store: ContentStore, model_id: int, block: int, unit_ttl: int
) -> PoolLedger:
    used: set[UnitKey] = set()
    for cid in standing_report_cids(client, model_id, block):
        used |= report_units(store, cid)
    return PoolLedger(
        block=block,
        timestamp=client.block_timestamp(block),
        available=pool_available(client, model_id, block),
        unit_ttl=unit_ttl,
        payments=paid_units(client, model_id, block),
        used=frozenset(used),
    )
