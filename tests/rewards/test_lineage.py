"""Lineage payouts on a real Anvil: a model derived from the live classifier, trained on another Datanet
(its own contributors), pays the lineage share of its epoch to the parent's contributors by the parent's
model-level attribution; `verify epoch` recomputes the split, and every upstream contributor claims."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from epoch_helpers import EPOCH, answer, hand_report, service_for
from paidmodel import (
    CONTRIBUTORS,
    CURATOR,
    DATANET_OWNER,
    MODEL_OWNER,
    PRICE,
    WORKER,
    LiveModel,
    Serving,
    start_serving,
    stop_serving,
    train_bundle,
    training_records,
)
from tinymodels import sentiment_records

from worker.attribution.report import AttributionReport
from worker.billing import UNIT_TTL
from worker.canonical import canonical_json
from worker.chain.types import Policy
from worker.datanet.contributing import prepare_contribution_data, upload_and_submit
from worker.datanet.creating import build_metadata, create_datanet
from worker.datanet.curation import review_contribution
from worker.datanet.publishing import publish_version
from worker.errors import ChainError, StorageError
from worker.jobs.result import contributor_weights
from worker.rewards import EpochService, build_report, claim, load_report, read_ledger, verify_epoch
from worker.rewards.lineage import clear_caches, upstream_split
from worker.storage import LocalStore
from worker.units import OPEN, PPM

CHILD_CONTRIBUTORS = (11, 12)


def _child_datanet(live: LiveModel) -> tuple[int, int]:
    """A second Datanet whose records come from accounts 11 and 12 only."""
    chain, store = live.chain, live.store
    for index in CHILD_CONTRIBUTORS:
        chain.client(0).token.transfer(chain.client(index).address, 1_000 * OPEN)
    metadata = build_metadata(name="derived", task="classification", labels=["neg", "pos"], licence="CC0")
    owner = chain.client(DATANET_OWNER)
    policy = Policy(10 * OPEN, 3600, 5_000)
    datanet_id = create_datanet(owner, store, metadata, policy, [chain.client(CURATOR).address]).datanet_id
    raw = [{k: v for k, v in r.items() if k != "contributor"} for r in sentiment_records(24)]
    for offset, index in enumerate(CHILD_CONTRIBUTORS):
        data = b"".join(canonical_json(r) + b"\n" for r in raw[offset :: len(CHILD_CONTRIBUTORS)])
        prepared = prepare_contribution_data(chain.client(index), store, datanet_id, data)
        submitted = upload_and_submit(chain.client(index), store, prepared)
        review_contribution(chain.client(CURATOR), store, submitted.contribution_id, True)
    return datanet_id, publish_version(owner, store, datanet_id).version_id


@pytest.fixture
def derived(live: LiveModel, tiny_bert: Path, tmp_path: Path) -> LiveModel:
    """A live model derived from `live` (parent), trained on the child Datanet, served by the worker."""
    datanet_id, version_id = _child_datanet(live)
    records = training_records(live.chain, live.store, datanet_id, version_id)
    bundle = train_bundle(tiny_bert, "classification", records, tmp_path, live.store)
    spec, adapter, metrics, report, root = bundle
    owner, worker = live.client(MODEL_OWNER), live.client(WORKER)
    spec_cid = live.store.add(spec.to_json().encode())
    base = owner.models.get_model(live.model_id).base_model
    child = owner.models.register_derived_model(
        datanet_id, version_id, base, spec_cid, PRICE, live.model_id
    ).created_id
    job_id = owner.models.request_training(child, 100 * OPEN).created_id
    worker.models.claim_job(job_id)
    worker.models.submit_result(job_id, adapter, metrics, root, report)
    live.chain.dev.increase_time(worker.models.params().challenge_window + 1)
    worker.models.finalize(job_id)
    return LiveModel(live.chain, live.store, child, job_id, adapter, report, "classification")


@pytest.fixture
def derived_serving(derived: LiveModel, tmp_path: Path) -> Iterator:
    running = start_serving(derived, tmp_path / "serve")
    try:
        yield running
    finally:
        stop_serving(running)


def _parent_weights(live: LiveModel) -> dict[str, int]:
    report = AttributionReport.from_dict(json.loads(live.store.cat(live.report_cid)))
    return contributor_weights(report)[0]


def test_lineage_is_recorded_and_refused_for_a_non_live_parent(derived: LiveModel, live: LiveModel) -> None:
    lineage = live.client(0).models.lineage_of(derived.model_id)
    assert (lineage.parent_model_id, lineage.parent_job_id, lineage.depth) == (live.model_id, live.job_id, 1)
    assert live.client(0).models.ancestors_of(derived.model_id) == [(live.model_id, live.job_id)]
    owner = live.client(MODEL_OWNER)
    model = owner.models.get_model(derived.model_id)
    with pytest.raises(ChainError, match="not 'other-base'"):
        owner.models.register_derived_model(
            model.datanet_id, model.version_id, "other-base", model.training_spec_cid, PRICE, live.model_id
        )


def test_upstream_contributors_are_paid_and_claim(derived_serving, live: LiveModel) -> None:
    derived = derived_serving.live
    service = service_for(derived_serving)
    answer(derived_serving)
    service.tick()
    live.chain.dev.increase_time(EPOCH)
    events = service.tick()
    assert [e.action for e in events] == ["closed", "posted"], events
    vault = live.client(0).vault
    report = load_report(live.store, vault.report_cid(derived.model_id, 0))

    # the split, recomputed independently: leaves of the child's own contributors before the cut
    lineage = report.lineage
    assert lineage is not None and lineage.share_bps == vault.lineage_share_bps() == 1_000
    own = {live.client(i).address for i in CHILD_CONTRIBUTORS}
    upstream_addresses = {live.client(i).address for i in CONTRIBUTORS}
    pre = hand_report(live, report.receipts, 0, derived.model_id, block=report.residue.block).amounts
    assert pre and set(pre) <= own
    cut = {a: v * 1_000 // 10_000 for a, v in pre.items()}
    assert lineage.upstream == sum(cut.values()) > 0
    assert vault.upstream_split(derived.model_id, lineage.upstream) == [(live.model_id, lineage.upstream)]
    assert upstream_split(lineage.upstream, 1, 1_000) == [lineage.upstream]
    weights = _parent_weights(live)
    expected_up = {a: lineage.upstream * w // PPM for a, w in weights.items() if lineage.upstream * w // PPM}
    assert set(expected_up) <= upstream_addresses and expected_up
    for address in own:
        assert report.amounts.get(address, 0) == pre.get(address, 0) - cut.get(address, 0)
    for address, amount in expected_up.items():
        assert report.amounts[address] == amount
    assert report.total == sum(pre.values()) - lineage.dust
    assert 0 <= lineage.dust < len(weights) + 1

    # a third party agrees
    result = verify_epoch(live.client(0), live.store, derived.model_id, 0)
    assert result.ok, result.problems

    # the upstream contributors claim exactly their share
    live.chain.dev.increase_time(vault.challenge_window() + 1)
    assert [e.action for e in service_for(derived_serving).tick()] == ["finalized"]
    for address, amount in expected_up.items():
        index = next(i for i in CONTRIBUTORS if live.client(i).address == address)
        contributor = live.client(index)
        before = contributor.token.balance_of(address)
        claim(contributor, live.store, derived.model_id, 0)
        assert contributor.token.balance_of(address) - before == amount
    assert vault.get_epoch(derived.model_id, 0).claimed == sum(expected_up.values())


def test_verify_catches_an_epoch_that_keeps_the_upstream_share(derived_serving, live: LiveModel) -> None:
    derived = derived_serving.live
    answer(derived_serving)
    receipts = derived_serving.receipts.pending(derived.model_id)
    worker = live.client(WORKER)
    honest_free = hand_report(live, receipts, 0, derived.model_id)  # no lineage: the child keeps it all
    assert honest_free.lineage is None
    cid = live.store.add(honest_free.to_bytes())
    worker.vault.post_epoch_root(derived.model_id, 0, honest_free.root, honest_free.total, cid)
    result = verify_epoch(live.client(0), live.store, derived.model_id, 0)
    assert not result.ok
    assert any("lineage payout differs" in p for p in result.problems), result.problems


def test_governance_sets_the_share_the_next_epoch_pays(derived_serving, live: LiveModel) -> None:
    """The share goes through the token vote and the timelock like every parameter; epochs read it at
    their pinned block, and a third party recomputes the same split."""
    from worker.chain.governance import parameter_proposal, pass_proposal

    deployer = live.client(0)
    proposal = parameter_proposal(deployer.vault, "setLineageShareBps", 2_500)
    outcome = pass_proposal(deployer, proposal, [deployer])
    assert "LineageShareSet" in [e.name for e in outcome.executed.events]
    assert deployer.vault.lineage_share_bps() == 2_500
    derived = derived_serving.live
    service = service_for(derived_serving)
    answer(derived_serving)
    service.tick()
    live.chain.dev.increase_time(EPOCH)
    assert [e.action for e in service.tick()] == ["closed", "posted"]
    report = load_report(live.store, deployer.vault.report_cid(derived.model_id, 0))
    assert report.lineage is not None and report.lineage.share_bps == 2_500
    pre = hand_report(live, report.receipts, 0, derived.model_id, block=report.residue.block).amounts
    assert report.lineage.upstream == sum(v * 2_500 // 10_000 for v in pre.values())
    assert verify_epoch(deployer, live.store, derived.model_id, 0).ok


def test_verify_catches_an_upstream_share_redirected_to_the_poster(derived_serving, live: LiveModel) -> None:
    """The poster keeps the cut but names itself as the parent's only contributor: the recomputed
    lineage (the parent's pinned report, read from IPFS) differs."""
    from worker.rewards.lineage import Ancestor, LineageTerms

    derived = derived_serving.live
    answer(derived_serving)
    receipts = derived_serving.receipts.pending(derived.model_id)
    worker = live.client(WORKER)
    block = live.chain.w3.eth.block_number
    fake = Ancestor(live.model_id, live.job_id, live.report_cid, ((worker.address, PPM),))
    honest = hand_report(live, receipts, 0, derived.model_id, block=block)
    forged = build_report(
        honest.chain_id, honest.vault, derived.model_id, 0, worker.address, receipts,
        {p.payment_id: p for p in honest.payments}, None,
        read_ledger(worker, live.store, derived.model_id, block, UNIT_TTL), (),
        LineageTerms(block, 1_000, (fake,)),
    )  # fmt: skip
    assert forged.amounts[worker.address] == forged.lineage.upstream > 0
    cid = live.store.add(forged.to_bytes())
    worker.vault.post_epoch_root(derived.model_id, 0, forged.root, forged.total, cid)
    result = verify_epoch(live.client(0), live.store, derived.model_id, 0)
    assert not result.ok
    assert any("lineage payout differs" in p for p in result.problems), result.problems


def test_verify_catches_a_report_pinned_before_the_models_registration(
    derived_serving, live: LiveModel
) -> None:
    """Review finding: the poster pins its report at a block before `registerDerivedModel` (no ancestors
    there, residue 0) and states no lineage: the child's contributors keep 100 %. Every counted payment
    must be mined at or before the pinned block, and the lineage is read at the newest payment's block."""
    derived = derived_serving.live
    answer(derived_serving)
    receipts = derived_serving.receipts.pending(derived.model_id)
    worker = live.client(WORKER)
    start = worker.deployment.block_number
    registered = worker.models.get_events("ModelDerived", start, "latest", derived.model_id)
    assert registered, "the derived model's registration event"
    before = registered[0].block_number - 1
    assert worker.models.ancestors_of(derived.model_id, before) == []
    forged = hand_report(live, receipts, 0, derived.model_id, block=before)
    assert forged.lineage is None and forged.residue.block == before and forged.total > 0
    cid = live.store.add(forged.to_bytes())
    worker.vault.post_epoch_root(derived.model_id, 0, forged.root, forged.total, cid)
    result = verify_epoch(live.client(0), live.store, derived.model_id, 0)
    assert not result.ok
    assert any("after the report's pinned block" in p for p in result.problems), result.problems
    assert any("lineage payout differs" in p for p in result.problems), result.problems


class HidingStore(LocalStore):
    """A store that lost one CID (an ancestor's attribution report, unpinned everywhere)."""

    def __init__(self, root: Path, hidden: str) -> None:
        super().__init__(root)
        self.hidden = hidden

    def cat_iter(self, cid: str, *args, **kwargs):
        if cid == self.hidden:
            raise StorageError(f"{cid} is not in the store")
        return super().cat_iter(cid, *args, **kwargs)


def test_a_derived_model_missing_its_ancestors_report_stops_no_other_model(
    derived_serving, live: LiveModel
) -> None:
    """Review finding: one derived model whose ancestor's report cannot be fetched must not stop the other
    models' epochs (an `error` event instead), and `verify epoch` reports a problem instead of raising."""
    derived = derived_serving.live
    parent_serving = Serving(live, derived_serving.service, derived_serving.server, derived_serving.home)
    clear_caches()
    missing = HidingStore(live.store.root, live.report_cid)
    service = EpochService(
        live.client(WORKER), missing, derived_serving.receipts, epoch_seconds=EPOCH, unit_ttl=UNIT_TTL
    )
    answer(derived_serving)
    answer(parent_serving)
    service.tick()
    live.chain.dev.increase_time(EPOCH)
    events = service.tick()
    by_model = {(e.model_id, e.action) for e in events}
    assert (live.model_id, "posted") in by_model, events
    assert (derived.model_id, "error") in by_model, events
    error = next(e for e in events if e.model_id == derived.model_id)
    assert live.report_cid in error.detail
    assert derived_serving.receipts.epochs(derived.model_id) == []  # nothing closed: retried next tick
    assert verify_epoch(live.client(0), missing, live.model_id, 0).ok

    # with the report back, the derived epoch posts; a verifier without it gets a problem, no exception
    assert [e.action for e in service_for(derived_serving).tick() if e.model_id == derived.model_id] == [
        "closed", "posted"
    ]
    clear_caches()
    result = verify_epoch(live.client(0), missing, derived.model_id, 0)
    assert not result.ok
    assert any("cannot recompute the lineage payout" in p for p in result.problems), result.problems
    clear_caches()
    assert verify_epoch(live.client(0), live.store, derived.model_id, 0).ok
