"""The registry stores a contribution's record, not its CIDs: `get_contribution` reads the content CID from
ContributionSubmitted (checked against the registry's (contributor, CID) key, cached) and the reason CID
from ContributionReviewed, so callers see the same `Contribution` as before."""

from __future__ import annotations

import dataclasses

import pytest

from worker.chain.devnet import LocalChain
from worker.chain.types import ContributionStatus
from worker.demo.scenarios import datanet_with_version
from worker.errors import ChainError

CONTRIBUTOR, CURATOR = 3, 2
LONG_CID = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"  # 59 characters


def test_cids_come_back_in_full_from_the_events(devnet: LocalChain) -> None:
    datanet_id = datanet_with_version(devnet)
    contributor = devnet.client(CONTRIBUTOR).datanets
    rejected = contributor.contribute(datanet_id, LONG_CID, 4096, 12).created_id
    pending = contributor.contribute(datanet_id, LONG_CID + "x", 10, 1).created_id
    before_review = devnet.w3.eth.block_number
    reason = LONG_CID * 2
    devnet.client(CURATOR).datanets.review(rejected, False, reason)

    reader = devnet.client(0).datanets
    c = reader.get_contribution(rejected)
    assert (c.content_cid, c.reason_cid, c.status) == (LONG_CID, reason, ContributionStatus.REJECTED)
    assert (c.datanet_id, c.contributor, c.byte_size, c.record_count) == (
        datanet_id,
        devnet.client(CONTRIBUTOR).address,
        4096,
        12,
    )
    assert c.stake_released
    assert reader.get_contribution(pending).content_cid == LONG_CID + "x"
    assert reader.get_contribution(pending).reason_cid == ""
    at_block = reader.get_contribution(rejected, before_review)  # read as it was before the review
    assert (at_block.status, at_block.reason_cid, at_block.content_cid) == (
        ContributionStatus.PENDING,
        "",
        LONG_CID,
    )


def test_a_known_cid_is_not_read_from_the_logs_again(
    devnet: LocalChain, monkeypatch: pytest.MonkeyPatch
) -> None:
    datanet_id = datanet_with_version(devnet)
    contribution_id = devnet.client(CONTRIBUTOR).datanets.contribute(datanet_id, "bafy-once", 9, 1).created_id
    assert contribution_id is not None
    devnet.client(0).datanets.get_contribution(contribution_id)
    other_account = devnet.client(5).datanets  # another client of the same deployment shares the cache

    def no_logs(*args: object) -> list[object]:
        raise AssertionError("the logs were queried again")

    monkeypatch.setattr(other_account, "get_events", no_logs)
    assert other_account.get_contribution(contribution_id).content_cid == "bafy-once"


def test_a_cached_cid_is_rechecked_after_the_chain_is_rewound(devnet: LocalChain) -> None:
    """Same id, same contributor, same sizes, another CID on the rewound chain: the cache must not answer."""
    datanet_id = datanet_with_version(devnet)
    contributor, reader = devnet.client(CONTRIBUTOR).datanets, devnet.client(0).datanets
    snapshot = devnet.dev.snapshot()
    first = contributor.contribute(datanet_id, "bafy-before", 50, 2).created_id
    assert first is not None
    assert reader.get_contribution(first).content_cid == "bafy-before"
    devnet.dev.revert(snapshot)
    again = contributor.contribute(datanet_id, "bafy-after", 50, 2).created_id
    assert again == first
    assert reader.get_contribution(again).content_cid == "bafy-after"


def test_a_withdrawn_cid_resubmitted_still_reads_back(devnet: LocalChain) -> None:
    """Withdrawing frees the (contributor, CID) key for a resubmission: the old record keeps its CID."""
    datanet_id = datanet_with_version(devnet)
    contributor = devnet.client(CONTRIBUTOR).datanets
    old = contributor.contribute(datanet_id, "bafy-again", 70, 3).created_id
    assert old is not None
    devnet.dev.increase_time(3600)
    contributor.withdraw_contribution(old)
    new = contributor.contribute(datanet_id, "bafy-again", 70, 3).created_id
    reader = devnet.client(0).datanets
    assert reader.contribution_id_by_cid(datanet_id, contributor.client.address, "bafy-again") == new
    for _ in range(2):  # read from the event, then past a cached CID whose key has moved on
        withdrawn = reader.get_contribution(old)
        assert (withdrawn.content_cid, withdrawn.status) == ("bafy-again", ContributionStatus.WITHDRAWN)
    assert reader.get_contribution(new).content_cid == "bafy-again"


def test_a_cid_the_registry_does_not_confirm_is_refused(
    devnet: LocalChain, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A node whose logs disagree with its state (here: a doctored event) cannot slip a CID through."""
    datanet_id = datanet_with_version(devnet)
    contribution_id = devnet.client(CONTRIBUTOR).datanets.contribute(datanet_id, "bafy-real", 8, 1).created_id
    reader = devnet.client(0).datanets
    genuine = reader.get_events("ContributionSubmitted", 0, "latest", contribution_id)
    forged = [dataclasses.replace(genuine[0], args={**genuine[0].args, "contentCid": "bafy-forged"})]
    fresh = devnet.client(6).datanets
    monkeypatch.setattr(fresh, "get_events", lambda *args: forged)
    monkeypatch.setattr("worker.chain.datanet_registry._CONTENT_CIDS", {})
    with pytest.raises(ChainError, match=rf"contribution #{contribution_id} .* CID bafy-forged,.* gives #0"):
        fresh.get_contribution(contribution_id)
    monkeypatch.setattr(fresh, "get_events", lambda *args: [])
    with pytest.raises(ChainError, match="returned 0 ContributionSubmitted events"):
        fresh.get_contribution(contribution_id)
