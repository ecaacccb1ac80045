"""Gas per user operation on a fresh Anvil, and contributor payouts: direct transfers vs root + claims.

`make bench-gas` (or `python bench/gas.py [--json]`). Numbers are receipts' `gasUsed` on Anvil (prague):
each operation once, in the order a real lifecycle runs them. Payout comparison at 10, 100, 1000
contributors, every recipient a fresh address (both ways pay the same zero-to-nonzero balance write):
- transfers: one ERC20 `transfer` transaction per contributor, sent as a batch (automine off, then
  mined), gas summed over all receipts;
- Merkle: one `postEpochRoot` + `finalizeEpoch`, then one `claim` per contributor (all of them at 10 and
  100; at 1000 a sample of 20 claims, extrapolated by their mean: the output says so).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from eth_utils import keccak, to_checksum_address

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from worker.chain.anvil import AnvilConfig  # noqa: E402
from worker.chain.client import ChainClient  # noqa: E402
from worker.chain.devnet import LocalChain  # noqa: E402
from worker.chain.sender import Call  # noqa: E402
from worker.chain.types import Policy  # noqa: E402
from worker.merkle import ClaimTree  # noqa: E402

OPEN = 10**18
SIZES = (10, 100, 1000)
CLAIM_SAMPLE = 20
TRANSFER_GAS_LIMIT = 100_000


@dataclass
class Payout:
    contributors: int
    transfers_total: int
    root_post: int
    root_finalize: int
    claims_total: int
    claims_measured: int

    @property
    def merkle_total(self) -> int:
        return self.root_post + self.root_finalize + self.claims_total


def reward_tree(entries: list[tuple[str, int]]) -> ClaimTree:
    return ClaimTree.of(entries)


def lifecycle_gas(chain: LocalChain) -> tuple[dict[str, int], int]:
    """Run one datanet -> model -> payment -> epoch -> claim lifecycle; gas of each step, and the model id."""
    c = chain.client
    gov, owner, curator, contributor, permit_user = c(0), c(1), c(2), c(3), c(4)
    model_owner, worker, payer = c(5), c(6), c(7)
    for client in (owner, curator, contributor, permit_user, model_owner, worker, payer):
        gov.token.transfer(client.address, 100_000 * OPEN)
    gas: dict[str, int] = {}
    created = owner.datanets.create_datanet(
        "bafymeta", owner.address, Policy(10 * OPEN, 3600, 2_500), [curator.address]
    )
    gas["create datanet (1 curator)"] = created.gas_used
    datanet_id = created.created_id
    gas["approve stake (ERC20)"] = contributor.token.approve(owner.datanets.address, 10 * OPEN).gas_used
    first = contributor.datanets.contribute(datanet_id, "bafy-a", 2048, 40)
    gas["contribute"] = first.gas_used
    gas["contribute with permit (no approve)"] = permit_user.datanets.contribute_with_permit(
        datanet_id, "bafy-b", 1024, 20
    ).gas_used
    spam = contributor.datanets.contribute(datanet_id, "bafy-spam", 10, 1).created_id
    gas["review: accept"] = curator.datanets.review(first.created_id, True).gas_used
    curator.datanets.review(2, True)
    gas["review: reject (slash to treasury)"] = curator.datanets.review(spam, False, "bafyreason").gas_used
    gas["publish version"] = owner.datanets.publish_version(
        datanet_id, keccak(text="v1"), "bafyman", 60, 2
    ).gas_used
    model = model_owner.models.register_model(datanet_id, 1, "minilm", "bafyspec", OPEN)
    gas["register model"] = model.gas_used
    model_owner.token.approve(owner.models.address, 500 * OPEN)
    job = model_owner.models.request_training(model.created_id, 500 * OPEN)
    gas["request training (bounty escrow)"] = job.gas_used
    worker.token.approve(owner.workers.address, 300 * OPEN)
    gas["register worker (stake)"] = worker.workers.register_worker(300 * OPEN, "http://worker").gas_used
    gas["claim job (lease)"] = worker.models.claim_job(job.created_id).gas_used
    gas["submit result"] = worker.models.submit_result(
        job.created_id, "bafyadapter", "bafymetrics", keccak(text="attr"), "bafyreport"
    ).gas_used
    chain.dev.increase_time(worker.models.params().challenge_window + 1)
    gas["finalize job (model live)"] = payer.models.finalize(job.created_id).gas_used
    gas["withdraw bounty"] = worker.models.withdraw().gas_used
    payer.token.approve(owner.vault.address, 10**9 * OPEN)
    gas["pay for inference"] = payer.vault.pay_for_inference(model.created_id, 10, keccak(text="r1")).gas_used
    gas["pay for inference (2nd)"] = payer.vault.pay_for_inference(
        model.created_id, 10, keccak(text="r2")
    ).gas_used
    gas["withdraw fee share"] = model_owner.vault.withdraw().gas_used
    chain.dev.increase_time(3600)
    gas["release contribution stake"] = contributor.datanets.release_stake(first.created_id).gas_used
    return gas, int(model.created_id)


def _fresh_addresses(count: int, salt: str) -> list[str]:
    return [to_checksum_address(keccak(text=f"{salt}-{i}")[-20:]) for i in range(count)]


def transfers_gas(chain: LocalChain, payer: ChainClient, recipients: list[str], amounts: list[int]) -> int:
    """Send one transfer per recipient with automine off, mine them, and sum the receipts' gas."""
    sender, token = payer.sender, payer.token
    fees = sender.fees()
    hashes = []
    chain.dev.set_automine(False)
    try:
        for recipient, amount in zip(recipients, amounts, strict=True):
            data = token.encode("transfer", recipient, amount)
            tx = {
                "from": sender.address,
                "to": token.address,
                "data": data,
                "value": 0,
                "chainId": sender.chain_id,
                "gas": TRANSFER_GAS_LIMIT,
                **fees,
            }
            hashes.append(sender.broadcast(Call("OpenToken", "transfer", token.address, data), tx))
        while chain.dev.rpc("txpool_status")["pending"] != "0x0":
            chain.dev.mine()
    finally:
        chain.dev.set_automine(True)
    receipts = [chain.w3.eth.get_transaction_receipt(h) for h in hashes]  # type: ignore[arg-type]
    assert all(r["status"] == 1 for r in receipts), "a benchmark transfer failed"
    return sum(int(r["gasUsed"]) for r in receipts)


def merkle_gas(
    chain: LocalChain, model_id: int, epoch: int, recipients: list[str], amounts: list[int]
) -> Payout:
    worker, anyone = chain.client(6), chain.client(8)
    tree = reward_tree(list(zip(recipients, amounts, strict=True)))
    total = sum(amounts)
    post = worker.vault.post_epoch_root(model_id, epoch, tree.root, total, f"bafyepoch{epoch}").gas_used
    chain.dev.increase_time(worker.vault.challenge_window() + 1)
    finalize = anyone.vault.finalize_epoch(model_id, epoch).gas_used
    n = len(recipients)
    sample = range(n) if n <= 100 else range(0, n, n // CLAIM_SAMPLE)
    claims = [
        anyone.vault.claim(model_id, epoch, recipients[i], amounts[i], tree.proof(i)).gas_used for i in sample
    ]
    claims_total = sum(claims) if n <= 100 else round(sum(claims) / len(claims) * n)
    return Payout(n, 0, post, finalize, claims_total, len(claims))


def payouts(chain: LocalChain, model_id: int) -> list[Payout]:
    payer = chain.client(7)
    needed = 2 * sum(SIZES) * OPEN * 2  # contributors get 50% of payments; room for both payout methods
    payer.vault.pay_for_inference(model_id, needed // OPEN, keccak(text="fund the pool"))
    results = []
    for epoch, n in enumerate(SIZES):
        amounts = [OPEN + i for i in range(n)]
        direct = transfers_gas(chain, payer, _fresh_addresses(n, f"direct-{n}"), amounts)
        payout = merkle_gas(chain, model_id, epoch, _fresh_addresses(n, f"merkle-{n}"), amounts)
        payout.transfers_total = direct
        results.append(payout)
    return results


def _row(cells: tuple[Any, ...]) -> str:
    widths = (5, 12, 9, 10, 9, 12, 10, 13)
    parts = [f"{c:>{w},}" if isinstance(c, int) else f"{c:>{w}}" for c, w in zip(cells, widths, strict=False)]
    return "  " + " ".join(parts) + ("  " + cells[-1] if len(cells) > len(widths) else "")


def _print(ops: dict[str, int], results: list[Payout], seconds: float) -> None:
    print("Gas per user operation (Anvil, prague, optimizer 200 runs; one run each)\n")
    width = max(len(k) for k in ops) + 2
    for name, gas in ops.items():
        print(f"  {name:<{width}}{gas:>10,}")
    print("\nPaying N contributors: N direct ERC20 transfers vs one epoch root + N claims\n")
    print(
        _row(
            (
                "N",
                "transfers",
                "per head",
                "root post",
                "finalize",
                "N claims",
                "per claim",
                "merkle total",
                "note",
            )
        )
    )
    for r in results:
        measured = r.claims_measured == r.contributors
        note = (
            "all claims measured"
            if measured
            else f"{r.claims_measured} claims sampled, mean x {r.contributors}"
        )
        print(
            _row(
                (
                    r.contributors,
                    r.transfers_total,
                    r.transfers_total // r.contributors,
                    r.root_post,
                    r.root_finalize,
                    r.claims_total,
                    r.claims_total // r.contributors,
                    r.merkle_total,
                    note,
                )
            )
        )
    print(
        "\n  transfers: paid by the distributor, one tx each (21k base included), measured as a mined batch."
    )
    print("  merkle: the poster pays root post + finalize whatever N; each contributor pays its own claim.")
    print(f"\n  ({seconds:.1f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    started = time.monotonic()
    chain = LocalChain.start(anvil_config=AnvilConfig(accounts=12))
    try:
        ops, model_id = lifecycle_gas(chain)
        results = payouts(chain, model_id)
        first = results[0]  # epoch 0, 10 contributors
        ops["post epoch root"] = first.root_post
        ops["finalize epoch"] = first.root_finalize
        ops[f"claim (mean of {first.contributors}, proof depth ~4)"] = (
            first.claims_total // first.contributors
        )
    finally:
        chain.stop()
    if args.json:
        print(
            json.dumps(
                {
                    "operations": ops,
                    "payouts": [asdict(r) | {"merkle_total": r.merkle_total} for r in results],
                },
                indent=2,
            )
        )
    else:
        _print(ops, results, time.monotonic() - started)


if __name__ == "__main__":
    main()
