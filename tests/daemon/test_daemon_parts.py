"""The daemon's safety parts one at a time on a real Anvil: the outbox settles transactions signed before
a crash, the lease keeper renews in time and notices a lost lease, and a reorg deeper than the follower's
window is refused rather than half-rewound."""

from __future__ import annotations

import time

import pytest
from workerworld import WORKER, World, daemon_for

from worker.chain.devnet import LocalChain
from worker.daemon import FollowerSettings, ReorgTooDeep
from worker.daemon.lease import LeaseKeeper, LeaseLost
from worker.demo.scenarios import model_with_job, registered_worker


def _signed_transfer(world: World, nonce: int) -> tuple[str, bytes]:
    """A transfer signed by the worker's key and never broadcast: what a crash right after signing leaves."""
    client = world.client(WORKER)
    token = client.token
    tx = {
        "from": client.address,
        "to": token.address,
        "data": token.encode("transfer", world.client(1).address, 1),
        "value": 0,
        "chainId": client.sender.chain_id,
        "gas": 100_000,
        "nonce": nonce,
        **client.sender.fees(),
    }
    raw = client.signer.sign_transaction(tx)
    from eth_utils import keccak

    return "0x" + keccak(raw).hex(), raw


def test_the_outbox_rebroadcasts_what_was_signed_but_never_sent_and_drops_what_was_replaced(
    world: World,
) -> None:
    daemon = daemon_for(world)
    outbox, w3 = daemon.ctx.outbox, world.chain.w3
    nonce = w3.eth.get_transaction_count(world.client(WORKER).address, "pending")
    lost_hash, lost_raw = _signed_transfer(world, nonce)
    outbox._record("t", "transfer", [])(lost_hash, lost_raw, nonce)  # recorded, then "killed"
    done = outbox.reconcile()
    assert any("rebroadcast" in line for line in done), done
    assert w3.eth.get_transaction_receipt(lost_hash)["status"] == 1
    assert [e.state for e in outbox.entries("t")] == ["mined"]

    # Signed for nonce n+1, but the account then used n+1 for something else: never sent, dropped.
    stale_hash, stale_raw = _signed_transfer(world, nonce + 1)
    outbox._record("u", "transfer", [])(stale_hash, stale_raw, nonce + 1)
    world.client(WORKER).token.transfer(world.client(2).address, 1)
    done = outbox.reconcile()
    assert [e.state for e in outbox.entries("u")] == ["dropped"], done


def test_the_lease_keeper_renews_before_expiry_and_reports_a_lost_lease(devnet: LocalChain) -> None:
    _, job_id = model_with_job(devnet)
    registered_worker(devnet, 7)
    registered_worker(devnet, 8)
    worker = devnet.client(7)
    claimed = worker.models.claim_job(job_id).event("JobClaimed")
    duration = worker.models.params().lease_duration
    keeper = LeaseKeeper(worker, job_id, duration, int(claimed["leaseExpiresAt"]), check_every=0.05)
    with keeper:
        devnet.dev.increase_time(duration // 2 + 60)  # less than half the lease left: renew now
        deadline = time.monotonic() + 20
        while keeper.renewals == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert keeper.renewals == 1
        assert worker.models.get_job(job_id).lease_expires_at == keeper.expires_at
        keeper.check()  # still ours

        devnet.dev.increase_time(duration + 1)  # expired; another worker takes the job over
        devnet.client(8).models.claim_job(job_id)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                keeper.check()
            except LeaseLost:
                break
            time.sleep(0.05)
        with pytest.raises(LeaseLost, match="NotLeaseHolder|InvalidJobStatus|LeaseExpired"):
            keeper.check()


def test_a_reorg_deeper_than_the_window_is_refused(world: World) -> None:
    daemon = daemon_for(world, follower=FollowerSettings(max_range=1, window=2))
    for _ in range(4):
        world.chain.dev.mine()
        daemon.follower.poll()  # one block per batch: the window forgets older hashes
    cursor = daemon.follower.cursor()
    # Re-mined empty blocks can hash exactly as before (no reorg at all): the new branch carries a transfer
    payer, payee = world.client(1).address, world.client(2).address
    with pytest.raises(ReorgTooDeep, match="deeper than the follower window"):
        world.chain.dev.reorg(4, [({"from": payer, "to": payee, "value": "0x1"}, 0)])
        assert world.chain.w3.eth.get_block(cursor.block)["hash"].hex() != cursor.hash.removeprefix("0x")
        daemon.follower.poll()
    assert daemon.follower.cursor() == cursor  # nothing half-rewound
