"""EpochService: closes due epochs from the receipt log, posts their roots, finalizes them after the window.

`tick()` is idempotent and safe to call after a kill -9 at any point, from `openledger serve` (a
background thread, the default) or any loop that calls it, e.g. `WorkerDaemon.ticks.append(service.tick)`:
- closing an epoch assigns the pending receipts to it in one SQLite transaction (receipt_log);
- the report is rebuilt from exactly those receipts, so a re-run uploads the same bytes (same CID) and
  posts the same root;
- before posting, the chain is asked: an epoch already posted with our root is simply recorded, one
  posted with another root is an error (never a second post), and `nextEpoch` must allow it;
- finalization reads the epoch's on-chain status first (finalized by someone else, struck down by an
  upheld challenge, still challenged).
Epoch windows are measured in chain time (block timestamps), so tests and the demo move them with Anvil.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from worker.chain.bindings import TxResult
from worker.chain.client import ChainClient
from worker.chain.reverts import TransactionReverted
from worker.chain.types import EpochStatus
from worker.rewards.epoch_report import EpochReport, build_report
from worker.rewards.errors import RewardsError
from worker.rewards.payments import PaymentBook
from worker.rewards.receipt_log import EpochRecord, ReceiptLog
from worker.storage import ContentStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EpochEvent:
    model_id: int
    epoch: int
    action: str  # closed | posted | finalized | waiting | struck | skipped
    detail: str = ""
    tx: TxResult | None = None


class EpochService:
    def __init__(
        self,
        client: ChainClient,
        store: ContentStore,
        receipts: ReceiptLog,
        epoch_seconds: int = 3600,
        models: Iterable[int] | None = None,
        confirmations: int = 1,
    ):
        if epoch_seconds < 1:
            raise RewardsError("epoch_seconds must be at least 1")
        self.client, self.store, self.receipts = client, store, receipts
        self.epoch_seconds = epoch_seconds
        self.models = set(models) if models is not None else None
        self.payments = PaymentBook(client, confirmations)
        self._lock = threading.Lock()

    def tick(self) -> list[EpochEvent]:
        """Post what is closed, finalize what is due, close what is due; returns what happened."""
        with self._lock:
            events: list[EpochEvent] = []
            for model_id in self._watched():
                events += self._tick_model(model_id)
            return events

    def _watched(self) -> list[int]:
        """The models given (their windows open at the first tick), else every model with receipts (its
        window opens at the first tick that sees one)."""
        if self.models is not None:
            return sorted(self.models)
        return self.receipts.models()

    def _tick_model(self, model_id: int) -> list[EpochEvent]:
        provider = self.client.models.get_model(model_id).compute_provider
        if provider != self.client.address:
            return [EpochEvent(model_id, -1, "skipped", f"the compute provider is {provider}, not us")]
        now = self.client.latest_timestamp()
        events = [self._post(record) for record in self.receipts.epochs(model_id, ("closed",))]
        events += [self._finalize(record, now) for record in self.receipts.epochs(model_id, ("posted",))]
        if not self.receipts.epochs(model_id, ("closed",)):
            events += self._close_if_due(model_id, now)
        return [e for e in events if e.action != "waiting" or e.detail]

    # -- closing -------------------------------------------------------------------------------------

    def _close_if_due(self, model_id: int, now: int) -> list[EpochEvent]:
        started = self.receipts.window_start(model_id)
        if started is None:
            self.receipts.start_window(model_id, now)
            return []
        pending = self.receipts.pending(model_id)
        if now - started < self.epoch_seconds or not pending:
            return []
        epoch = self.client.vault.next_epoch(model_id)
        report = self._report(model_id, epoch, pending)
        if report.total == 0:
            return [EpochEvent(model_id, epoch, "skipped", f"{len(pending)} receipt(s) pay nothing yet")]
        count = self.receipts.close_epoch(model_id, epoch, now, pending)
        closed = EpochEvent(model_id, epoch, "closed", f"{count} receipt(s), {report.total} wei")
        record = self.receipts.epochs(model_id, ("closed",))[-1]
        return [closed, self._post(record)]

    def _report(self, model_id: int, epoch: int, receipts: list) -> EpochReport:
        payments = self.payments.many(r.payment_id for r in receipts)
        return build_report(
            self.client.sender.chain_id,
            self.client.vault.address,
            model_id,
            epoch,
            self.client.address,
            receipts,
            payments,
        )

    # -- posting -------------------------------------------------------------------------------------

    def _post(self, record: EpochRecord) -> EpochEvent:
        model_id, epoch = record.model_id, record.epoch
        report = self._report(model_id, epoch, self.receipts.epoch_receipts(model_id, epoch))
        cid = self.store.add(report.to_bytes())
        vault = self.client.vault
        tx = None
        if vault.get_epoch(model_id, epoch).status == EpochStatus.NONE:
            self._check_postable(model_id, epoch, report)
            try:
                tx = vault.post_epoch_root(model_id, epoch, report.root, report.total, cid)
            except TransactionReverted as exc:
                if exc.error_name != "EpochAlreadyPosted":
                    raise
        onchain = vault.get_epoch(model_id, epoch)
        if onchain.root != report.root or onchain.total != report.total:
            raise RewardsError(
                f"epoch {epoch} of model {model_id} is on-chain with root 0x{onchain.root.hex()} and total "
                f"{onchain.total}, not ours (0x{report.root.hex()}, {report.total}): it was posted from "
                "another receipt log; resolve it by hand (nothing was sent)"
            )
        self.receipts.update_epoch(
            model_id, epoch, "posted", report_cid=cid, root="0x" + report.root.hex(), total=report.total
        )
        detail = f"root 0x{report.root.hex()[:12]}…, {len(report.amounts)} contributor(s), report {cid}"
        return EpochEvent(model_id, epoch, "posted", detail if tx else detail + " (already on-chain)", tx)

    def _check_postable(self, model_id: int, epoch: int, report: EpochReport) -> None:
        next_epoch = self.client.vault.next_epoch(model_id)
        if epoch > next_epoch:
            raise RewardsError(
                f"epoch {epoch} of model {model_id} is ahead of the chain's next epoch {next_epoch}"
            )
        pool = self.client.vault.pool(model_id)
        if report.total > pool.unallocated:
            raise RewardsError(
                f"epoch {epoch} of model {model_id} pays {report.total} wei but the pool has only "
                f"{pool.unallocated} unallocated: the receipts spend payments the pool never received"
            )

    # -- finalizing ----------------------------------------------------------------------------------

    def _finalize(self, record: EpochRecord, now: int) -> EpochEvent:
        model_id, epoch = record.model_id, record.epoch
        onchain = self.client.vault.get_epoch(model_id, epoch)
        if onchain.status == EpochStatus.NONE:
            self.receipts.update_epoch(model_id, epoch, "struck")
            return EpochEvent(model_id, epoch, "struck", "the root was struck down by an upheld challenge")
        if onchain.status == EpochStatus.CHALLENGED:
            return EpochEvent(model_id, epoch, "waiting", "challenged: waiting for governance")
        tx = None
        if onchain.status == EpochStatus.POSTED:
            if now <= onchain.challenge_deadline:
                return EpochEvent(model_id, epoch, "waiting")
            try:
                tx = self.client.vault.finalize_epoch(model_id, epoch)
            except TransactionReverted as exc:
                if exc.error_name != "InvalidEpochStatus":
                    raise
                return EpochEvent(model_id, epoch, "waiting", f"finalize refused: {exc}")
        self.receipts.update_epoch(model_id, epoch, "finalized")
        return EpochEvent(model_id, epoch, "finalized", "claimable now", tx)


def run_in_background(
    service: EpochService,
    interval: float,
    stop: threading.Event,
    on_event: Callable[[EpochEvent], None] | None = None,
) -> threading.Thread:
    """Tick every `interval` seconds until `stop` is set; errors are logged, never fatal to serving."""

    def loop() -> None:
        while not stop.is_set():
            try:
                for event in service.tick():
                    (on_event or (lambda e: log.info("epoch %s", e)))(event)
            except Exception:  # noqa: BLE001 - a failed tick is retried on the next one
                log.exception("epoch tick failed; retrying in %.0f s", interval)
            stop.wait(interval)

    thread = threading.Thread(target=loop, name="epoch-service", daemon=True)
    thread.start()
    return thread
