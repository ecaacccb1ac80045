"""EpochService: closes due epochs from the receipt log, posts their roots, finalizes them after the window.

`tick()` is idempotent and safe to call after a kill -9 at any point, from `openledger serve` (a
background thread, the default) or any loop that calls it, e.g. `WorkerDaemon.ticks.append(service.tick)`:
- closing an epoch assigns pending receipts to it in one SQLite transaction (receipt_log), with the block
  at which the model's manifest entries are checked against the chain (eligibility.py) and the pool's
  residue is read (residue.py: paid units expire after `unit_ttl`; what no unit is owed any more is paid
  to the epoch's contributors pro rata), and the answered units of expired payments it leaves for later;
- the report is rebuilt from exactly those receipts and that block, so a re-run uploads the same bytes
  (same CID) and posts the same root;
- a root locks collateral (total * collateralBps / 10_000 of the worker's free stake): an epoch closes
  only the oldest receipts that free stake covers, the rest wait; a closed epoch the stake no longer
  covers is reopened (never a transaction that reverts tick after tick);
- before posting, the chain is asked: an epoch already posted with our root is simply recorded, one
  posted with another root is an error (never a second post), and `nextEpoch` must allow it;
- settling reads each posted epoch's on-chain status first: finalized by someone else, still challenged
  (lapsed by us once nobody ruled in time), or voided by an upheld or lapsed challenge, in which case its
  receipts go back to pending and are posted again in the next epoch (by us, while we are the provider).
A derived model's epoch reads its lineage (lineage.py) at the block of its newest counted payment. Each model
is ticked on its own: one that fails (an ancestor's report missing from the store, a node error) gives an
`error` event, is logged and retried next tick, and the other models go on.
Epoch windows are measured in chain time (block timestamps), so tests and the demo move them with Anvil.

Replicas: every replica of a worker may run an EpochService on the shared receipt log; only the holder of
the log's `epoch-service` lease acts (renewed at every tick and before every closing or post, so a replica
that stalled past its lease stops before it sends anything). A replica killed mid-epoch is taken over
when its lease runs out: the successor finds the epoch closed in the log and, by the on-chain check above,
records a root already posted instead of posting again.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from worker.billing.errors import LeaseLost, PaymentRequired
from worker.billing.payments import UNIT_TTL, PaymentBook
from worker.billing.receipt_log import EpochRecord, EpochState, ReceiptLog
from worker.billing.receipts import Receipt
from worker.chain.bindings import TxResult
from worker.chain.client import ChainClient
from worker.chain.reverts import TransactionReverted
from worker.chain.types import Epoch, EpochStatus, Payment, collateral_for
from worker.faults import failpoint
from worker.rewards.eligibility import ManifestCheck, check_manifest
from worker.rewards.epoch_report import EpochReport, PaymentTerms, build_report, epoch_payout
from worker.rewards.errors import RewardsError
from worker.rewards.ledger import read_ledger
from worker.rewards.lineage import lineage_block, read_lineage
from worker.rewards.residue import PoolLedger, UnitKey
from worker.storage import ContentStore
from worker.units import OPEN

log = logging.getLogger(__name__)

EPOCH_LEASE = "epoch-service"
LEASE_SECONDS = 120.0  # a dead replica's epoch service is taken over this long after its last renewal


_PROCESS_TOKEN = uuid.uuid4().hex[:12]  # containers share hostnames and run as pid 1: this tells them apart


def default_holder() -> str:
    """This process, as a lease holder: services in one process share the lease, a restart waits for it."""
    return f"{socket.gethostname()}:{os.getpid()}:{_PROCESS_TOKEN}"


@dataclass(frozen=True)
class EpochEvent:
    model_id: int
    epoch: int
    action: str  # closed | posted | finalized | waiting | struck | skipped | excluded | standby | error
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
        confirmations: int | None = None,
        unit_ttl: int = UNIT_TTL,
        holder: str | None = None,
        payments: PaymentBook | None = None,
        lease_seconds: float = LEASE_SECONDS,
    ):
        if epoch_seconds < 1 or unit_ttl < 1:
            raise RewardsError("epoch_seconds and unit_ttl must be at least 1")
        if lease_seconds <= 0:
            raise RewardsError("lease_seconds must be positive")
        self.holder, self.lease_seconds = holder or default_holder(), lease_seconds
        self._lease = (EPOCH_LEASE, self.holder)  # every write to epoch state checks it in its transaction
        self.active: bool | None = None  # None until the first tick: whether we held the lease last time
        self.client, self.store, self.receipts = client, store, receipts
        self.epoch_seconds, self.unit_ttl = epoch_seconds, unit_ttl
        self.models = set(models) if models is not None else None
        # The server's book when serving (one payment index); else one on the receipt log's database.
        self.payments = payments or PaymentBook(client, confirmations, database=receipts.database)
        self._lock = threading.Lock()

    def tick(self) -> list[EpochEvent]:
        """Settle what was posted, post what is closed, close what is due; returns what happened. Does
        nothing while another replica holds the lease (a `standby` event when that starts)."""
        with self._lock:
            if not self._lead():
                return self._standby()
            events: list[EpochEvent] = []
            try:
                for model_id in self._watched():
                    events += self._tick_model_safely(model_id)
            except LeaseLost as exc:
                events.append(EpochEvent(-1, -1, "standby", str(exc)))
            return events

    def _tick_model_safely(self, model_id: int) -> list[EpochEvent]:
        """One model's tick; an error (e.g. a derived model whose ancestor's report is missing) is logged
        and reported as an `error` event, and never stops the other models' settling, posting or closing.
        The model is retried at the next tick."""
        try:
            return self._tick_model(model_id)
        except LeaseLost:
            raise
        except Exception as exc:  # noqa: BLE001 - one model's failure must not block the others
            log.exception("epoch tick of model %s failed; retried at the next tick", model_id)
            return [EpochEvent(model_id, -1, "error", f"{type(exc).__name__}: {exc}")]

    def release(self) -> None:
        """Give the lease up (a clean shutdown): another replica takes over at its next tick. Waits a
        while for a tick in progress, which would otherwise take the lease again."""
        if not self._lock.acquire(timeout=30):
            return  # a tick still runs: the lease runs out on its own rather than being taken back by it
        try:
            self.receipts.drop_lease(EPOCH_LEASE, self.holder)
            self.active = False
        finally:
            self._lock.release()

    def _lead(self) -> bool:
        held = self.receipts.hold_lease(EPOCH_LEASE, self.holder, self.lease_seconds)
        if held and self.active is False:
            log.info("epoch service of %s took over the lease", self.holder)
        self.active = held
        return held

    def _standby(self) -> list[EpochEvent]:
        was_active, self.active = self.active, False
        if was_active is False:
            return []
        current = self.receipts.lease_holder(EPOCH_LEASE)
        detail = f"the epoch service of {current[0] if current else 'another replica'} holds the lease"
        return [EpochEvent(-1, -1, "standby", detail)]

    def _fence(self) -> None:
        """Renew the lease right before an effect (closing, posting): LeaseLost if it went to another."""
        if not self.receipts.hold_lease(EPOCH_LEASE, self.holder, self.lease_seconds):
            self.active = False
            raise LeaseLost(f"the epoch lease went to another replica; {self.holder} stops")

    def _watched(self) -> list[int]:
        """The models given (their windows open at the first tick), else every model with receipts (its
        window opens at the first tick that sees one)."""
        if self.models is not None:
            return sorted(self.models)
        return self.receipts.models()

    def _tick_model(self, model_id: int) -> list[EpochEvent]:
        now = self.client.latest_timestamp()
        # our posted epochs are settled even after we stopped serving the model: collateral, receipts
        posted = self.receipts.epochs(model_id, (EpochState.POSTED,))
        events = [self._settle(record, now) for record in posted]
        provider = self.client.models.get_model(model_id).compute_provider
        if provider != self.client.address:
            events.append(EpochEvent(model_id, -1, "skipped", f"the compute provider is {provider}, not us"))
        elif not self.client.workers.is_active_worker(self.client.address):
            detail = "our worker is not active (stake below the minimum, or exiting): nothing can be posted"
            events.append(EpochEvent(model_id, -1, "waiting", detail))
        else:
            events += [self._post(record) for record in self.receipts.epochs(model_id, (EpochState.CLOSED,))]
            if not self.receipts.epochs(model_id, (EpochState.CLOSED,)):
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
        block = self._confirmed_block()
        if block < self._last_post_block(model_id):
            return []  # the residue must see every epoch posted so far: wait for confirmations
        excluded, current = self._exclude_vanished(model_id, epoch)
        # a payment a reorg moved into a later block (same transaction) waits for a later epoch
        # only receipts whose payment was just re-checked (one recorded meanwhile waits for the next
        # epoch), and not a payment a reorg moved into a later block than the epoch's
        pending = [
            r for r in self.receipts.pending(model_id)
            if r.payment_id in current and current[r.payment_id].block_number <= block
        ]
        if not pending:
            return excluded
        manifest = check_manifest(self.client, self.store, model_id, block)
        ledger = read_ledger(self.client, self.store, model_id, block, self.unit_ttl)
        chosen, note = self._affordable(model_id, pending, manifest, ledger)
        deferred = ledger.deferrable(_keys(pending[len(chosen) :]))
        report = self._report(model_id, epoch, chosen, manifest, ledger, deferred) if chosen else None
        if report is None or report.total == 0:
            self.receipts.start_window(model_id, now, restart=True)  # try again a window later
            detail = note or f"{len(pending)} receipt(s) pay nothing yet"
            return [EpochEvent(model_id, epoch, "waiting" if note else "skipped", detail)]
        self._fence()
        count = self.receipts.close_epoch(
            model_id, epoch, now, chosen, manifest.block, deferred, lease=self._lease
        )
        detail = f"{count} receipt(s), {report.total} wei" + (f"; {note}" if note else "")
        closed = EpochEvent(model_id, epoch, "closed", detail)
        record = self.receipts.epochs(model_id, (EpochState.CLOSED,))[-1]
        return [*excluded, closed, self._post(record, report)]

    # -- payments re-checked before paying out -------------------------------------------------------

    def _vanished(
        self, model_id: int, epoch: int | None = None
    ) -> tuple[dict[tuple[int, str], list[UnitKey]], dict[int, Payment]]:
        """The units (pending, or of `epoch`) whose payment is no longer the transaction they were answered
        for, asked of the chain now (not a cache), by (payment id, transaction); and the payments that
        are, as they stand now."""
        by_payment: dict[tuple[int, str], list[UnitKey]] = {}
        for unit, tx in sorted(self.receipts.payment_txs(model_id, epoch).items()):
            by_payment.setdefault((unit[0], tx), []).append(unit)
        gone: dict[tuple[int, str], list[UnitKey]] = {}
        current: dict[int, Payment] = {}
        for (payment_id, tx), units in by_payment.items():
            payment = self.payments.recheck(payment_id, tx)
            if payment is None:
                gone[(payment_id, tx)] = units
            else:
                current[payment_id] = payment
        return gone, current

    def _exclude_vanished(self, model_id: int, epoch: int) -> tuple[list[EpochEvent], dict[int, Payment]]:
        """Take the pending receipts whose payment a reorg removed out of the log, with the reason: they
        are never paid out (a root over them is one `verify` rejects). Also the payments still there."""
        events = []
        pending = {(r.payment_id, r.request_index): r for r in self.receipts.pending(model_id)}
        gone, current = self._vanished(model_id)
        for (payment_id, tx), units in gone.items():
            reason = (
                f"payment {payment_id} (transaction {tx or 'unknown'}) is not on the chain any more: a "
                "reorg removed it or gave its id to another transaction"
            )
            count = self.receipts.exclude([pending[u] for u in units if u in pending], reason)
            log.warning("model %s: %s receipt(s) excluded: %s", model_id, count, reason)
            events.append(EpochEvent(model_id, epoch, "excluded", f"{count} receipt(s): {reason}"))
        return events, current

    def _confirmed_block(self) -> int:
        """The newest final block: the manifest is checked there, so a reorg cannot change the verdict a
        verifier reads back at the same block."""
        return max(0, self.payments.final_block())

    def _last_post_block(self, model_id: int) -> int:
        start = self.client.deployment.block_number
        posts = self.client.vault.get_events("EpochPosted", start, "latest", model_id)
        return posts[-1].block_number if posts else 0

    def _payments_of(self, receipts: Sequence[Receipt]) -> dict[int, Payment]:
        """The confirmed payments the receipts spend (a payment gone from the chain, e.g. by a reorg, stops
        the epoch with a RewardsError instead of the HTTP-facing PaymentRequired)."""
        try:
            return self.payments.many(r.payment_id for r in receipts)
        except PaymentRequired as exc:
            raise RewardsError(f"a receipt's payment cannot be used for this epoch: {exc}") from exc

    def _unit_values(self, receipts: Sequence[Receipt]) -> dict[int, int]:
        payments = self._payments_of(receipts)
        return {pid: PaymentTerms.of(p).unit_value for pid, p in payments.items()}

    def _affordable(
        self, model_id: int, pending: list[Receipt], manifest: ManifestCheck, ledger: PoolLedger
    ) -> tuple[list[Receipt], str]:
        """The longest run of the oldest pending receipts whose total (residue included) the free stake
        can back, and a note when that is not all of them (the rest wait for the next epoch)."""
        units = self._unit_values(pending)
        free, bps = self._free_stake(), self.client.vault.collateral_bps()

        def fits(count: int) -> bool:
            deferred = ledger.deferrable(_keys(pending[count:]))
            accounts, residue = epoch_payout(pending[:count], units, manifest.payable, ledger, deferred)
            total = accounts.total + residue.paid
            return collateral_for(total, bps) <= free

        if fits(len(pending)):
            return pending, ""
        low, high = 0, len(pending)  # fits(low) holds (0 receipts lock nothing), fits(high) does not
        while high - low > 1:
            middle = (low + high) // 2
            low, high = (middle, high) if fits(middle) else (low, middle)
        note = (
            f"free stake {free / OPEN:g} OPEN backs only {low} of {len(pending)} pending receipt(s) "
            f"at {bps / 100:g}% collateral: add stake to post the rest"
        )
        log.warning("model %s: %s", model_id, note)
        return pending[:low], note

    def _free_stake(self) -> int:
        return self.client.workers.free_stake(self.client.address)

    def _report(
        self,
        model_id: int,
        epoch: int,
        receipts: Sequence[Receipt],
        manifest: ManifestCheck,
        ledger: PoolLedger,
        deferred: tuple[UnitKey, ...],
    ) -> EpochReport:
        payments = self._payments_of(receipts)
        return build_report(
            self.client.sender.chain_id,
            self.client.vault.address,
            model_id,
            epoch,
            self.client.address,
            receipts,
            payments,
            manifest,
            ledger,
            deferred,
            read_lineage(self.client, self.store, model_id, lineage_block(payments.values(), ledger.block)),
        )

    def report_for(self, record: EpochRecord) -> EpochReport:
        """The report this service posts for a closed epoch: its receipts, checked (manifest, residue) at
        its block, with the units it deferred."""
        model_id, epoch = record.model_id, record.epoch
        block = record.manifest_block
        if not block:  # closed by an older version that did not record it: pin it now, once
            block = self._confirmed_block()
            self.receipts.update_epoch(
                model_id, epoch, record.state, lease=self._lease, manifest_block=block
            )
        manifest = check_manifest(self.client, self.store, model_id, block)
        ledger = read_ledger(self.client, self.store, model_id, block, self.unit_ttl)
        receipts = self.receipts.epoch_receipts(model_id, epoch)
        return self._report(model_id, epoch, receipts, manifest, ledger, record.deferred)

    # -- posting -------------------------------------------------------------------------------------

    def _post(self, record: EpochRecord, report: EpochReport | None = None) -> EpochEvent:
        model_id, epoch = record.model_id, record.epoch
        if report is None and self.client.vault.get_epoch(model_id, epoch).status == EpochStatus.NONE:
            gone, _ = self._vanished(model_id, epoch)  # closed before a restart: the chain may have moved
            if gone:
                released = self.receipts.release_epoch(model_id, epoch, struck=False, lease=self._lease)
                detail = (
                    f"reopened ({released} receipt(s) pending again): payment(s) "
                    f"{sorted({pid for pid, _ in gone})} left the chain since it closed; their receipts are "
                    "excluded when it closes again"
                )
                return EpochEvent(model_id, epoch, "waiting", detail)
        report = report or self.report_for(record)
        cid = self.store.add(report.to_bytes())  # ours stays available even if an earlier attempt posted
        vault, tx = self.client.vault, None
        if vault.get_epoch(model_id, epoch).status == EpochStatus.NONE:
            self._check_postable(model_id, epoch, report)
            short = self._collateral_shortfall(report)
            if short:
                released = self.receipts.release_epoch(model_id, epoch, struck=False, lease=self._lease)
                log.warning("model %s epoch %s reopened: %s", model_id, epoch, short)
                detail = f"reopened ({released} receipt(s) pending again): {short}"
                return EpochEvent(model_id, epoch, "waiting", detail)
            self._fence()
            try:
                tx = vault.post_epoch_root(model_id, epoch, report.root, report.total, cid)
            except TransactionReverted as exc:
                if exc.error_name != "EpochAlreadyPosted":
                    raise
        failpoint("after-epoch-post")  # crash tests: posted on-chain, the receipt log not yet told
        self._check_ours(model_id, epoch, vault.get_epoch(model_id, epoch), report)
        cid = vault.report_cid(model_id, epoch) or cid  # on-chain: an earlier attempt's, after a crash
        self.receipts.update_epoch(
            model_id, epoch, EpochState.POSTED, lease=self._lease, report_cid=cid,
            root="0x" + report.root.hex(), total=report.total,
        )
        detail = f"root 0x{report.root.hex()[:12]}…, {len(report.amounts)} contributor(s), report {cid}"
        if report.manifest is not None and report.manifest.excluded:
            detail += f"; {len(report.manifest.excluded)} manifest entr(y/ies) excluded (see the report)"
        return EpochEvent(model_id, epoch, "posted", detail if tx else detail + " (already on-chain)", tx)

    @staticmethod
    def _check_ours(model_id: int, epoch: int, onchain: Epoch, report: EpochReport) -> None:
        if onchain.root != report.root or onchain.total != report.total:
            raise RewardsError(
                f"epoch {epoch} of model {model_id} is on-chain with root 0x{onchain.root.hex()} and total "
                f"{onchain.total}, not ours (0x{report.root.hex()}, {report.total}): it was posted from "
                "another receipt log; resolve it by hand (nothing was sent)"
            )

    def _check_postable(self, model_id: int, epoch: int, report: EpochReport) -> None:
        next_epoch = self.client.vault.next_epoch(model_id)
        if epoch > next_epoch:
            raise RewardsError(
                f"epoch {epoch} of model {model_id} is ahead of the chain's next epoch {next_epoch}"
            )
        available = self.client.vault.pool(model_id).available
        if report.total > available:
            raise RewardsError(
                f"epoch {epoch} of model {model_id} pays {report.total} wei but the pool has only "
                f"{available} available: the receipts spend payments the pool never received"
            )

    def _collateral_shortfall(self, report: EpochReport) -> str:
        """Why our free stake cannot back this root ('' when it can)."""
        needed, free = self.client.vault.collateral_for(report.total), self._free_stake()
        if needed <= free:
            return ""
        return (
            f"posting {report.total / OPEN:g} OPEN locks {needed / OPEN:g} OPEN of stake but only "
            f"{free / OPEN:g} OPEN is free: a smaller epoch is closed next (or add stake)"
        )

    # -- settling ------------------------------------------------------------------------------------

    def _settle(self, record: EpochRecord, now: int) -> EpochEvent:
        model_id, epoch = record.model_id, record.epoch
        onchain = self.client.vault.get_epoch(model_id, epoch)
        if onchain.status == EpochStatus.NONE:
            return self._struck(record, "the root was voided on-chain (challenge upheld or lapsed)")
        if onchain.status == EpochStatus.CHALLENGED:
            return self._challenged(record, onchain, now)
        tx = None
        if onchain.status == EpochStatus.POSTED:
            if now <= onchain.deadline:
                return EpochEvent(model_id, epoch, "waiting")
            try:
                tx = self.client.vault.finalize_epoch(model_id, epoch)
            except TransactionReverted as exc:
                if exc.error_name != "InvalidEpochStatus":
                    raise
                return EpochEvent(model_id, epoch, "waiting", f"finalize refused: {exc}")
        self.receipts.update_epoch(model_id, epoch, EpochState.FINALIZED, lease=self._lease)
        return EpochEvent(model_id, epoch, "finalized", "claimable now", tx)

    def _challenged(self, record: EpochRecord, onchain: Epoch, now: int) -> EpochEvent:
        """Wait for the ruling; once its deadline passed unruled, lapse it (voids the root, frees our
        collateral) so its receipts can be posted again."""
        model_id, epoch = record.model_id, record.epoch
        deadline = onchain.dispute.ruling_deadline
        if now <= deadline:
            return EpochEvent(model_id, epoch, "waiting", f"challenged: governance rules by {deadline}")
        try:
            tx = self.client.vault.lapse_epoch_challenge(model_id, epoch)
        except TransactionReverted as exc:
            if exc.error_name != "InvalidEpochStatus":  # ruled or lapsed meanwhile: next tick sees it
                raise
            return EpochEvent(model_id, epoch, "waiting", f"lapse refused: {exc}")
        return self._struck(record, f"nobody ruled on the challenge by {deadline}: it lapsed", tx)

    def _struck(self, record: EpochRecord, why: str, tx: TxResult | None = None) -> EpochEvent:
        released = self.receipts.release_epoch(record.model_id, record.epoch, struck=True, lease=self._lease)
        log.warning("model %s epoch %s struck: %s", record.model_id, record.epoch, why)
        detail = f"{why}; its {released} receipt(s) go to the next epoch"
        return EpochEvent(record.model_id, record.epoch, "struck", detail, tx)


def _keys(receipts: Sequence[Receipt]) -> list[UnitKey]:
    return [(r.payment_id, r.request_index) for r in receipts]


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
