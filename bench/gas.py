"""Gas per user operation on a fresh Anvil, contributor payouts (direct transfers vs root + claims), and
our figures beside the reference figures of issue 12.

`make bench-gas` (or `python bench/gas.py [--json]`). Numbers are receipts' `gasUsed` on Anvil (prague,
the project's compiler settings): each operation once, in the order a real lifecycle runs them. Payout
comparison at 10, 100, 1000 contributors, every recipient a fresh address (both ways pay the same
zero-to-nonzero balance write):
- transfers: one ERC20 `transfer` transaction per contributor, sent as a batch (automine off, then
  mined), gas summed over all receipts;
- Merkle: one `postEpochRoot` + `finalizeEpoch`, then one `claim` per contributor (all of them at 10 and
  100; at 1000 a sample of 20 claims, extrapolated by their mean: the output says so). The claimed
  bitmap packs 256 leaves per storage word: the first claim of a word writes it from zero, the others
  update it, so the first claim (leaf 0) is reported apart as the worst case. A model's very first
  epoch also writes its epoch counter and reservation from zero: it is posted once before the
  measured ones (reported as "first epoch of a model"), so the 10/100/1000 rows compare like with like.
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
from worker.units import OPEN  # noqa: E402

SIZES = (10, 100, 1000)
CLAIM_SAMPLE = 20
TRANSFER_GAS_LIMIT = 100_000
WORKER_STAKE = 10_000 * OPEN  # backs a 500 OPEN bounty and the largest epoch root at 1.5x collateral
FLAT_TOLERANCE = 0.02  # post + finalize may vary by this share across 10/100/1000 contributors

# Measured by the author on one Anvil with the same compiler (prague, optimizer 200 runs).
REFERENCES = {
    "vana_add_file": ("Vana DataRegistry.addFile (stores a URL, no stake)", 181_850),
    "uniswap_claim": ("Uniswap MerkleDistributor.claim", 76_389),
    "vana_end_to_end": ("Vana file end to end (add + proof + reward)", 1_389_915),
}
TARGETS = {"contribute": 170_000, "claim": 85_000, "end_to_end": 300_000, "epoch": 200_000}


@dataclass
class Payout:
    contributors: int
    transfers_total: int
    root_post: int
    root_finalize: int
    claims_total: int
    claims_measured: int
    first_claim: int  # leaf 0: writes its bitmap word from zero, to a fresh address

    @property
    def merkle_total(self) -> int:
        return self.root_post + self.root_finalize + self.claims_total

    @property
    def epoch(self) -> int:
        return self.root_post + self.root_finalize


def lifecycle_gas(chain: LocalChain) -> tuple[dict[str, int], int]:
    """Run one datanet -> model -> payment lifecycle; gas of each step, and the model id."""
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
    gas["contribute (with stake)"] = first.gas_used
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
    worker.token.approve(owner.workers.address, WORKER_STAKE)
    gas["register worker (stake)"] = worker.workers.register_worker(WORKER_STAKE, "http://worker").gas_used
    gas["claim job (lease, collateral)"] = worker.models.claim_job(job.created_id).gas_used
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
    tree = ClaimTree.of(list(zip(recipients, amounts, strict=True)))
    total = sum(amounts)
    post = worker.vault.post_epoch_root(model_id, epoch, tree.root, total, f"bafyepoch{epoch}").gas_used
    chain.dev.increase_time(worker.vault.challenge_window() + 1)
    finalize = anyone.vault.finalize_epoch(model_id, epoch).gas_used
    n = len(recipients)
    sample = range(n) if n <= 100 else range(0, n, n // CLAIM_SAMPLE)
    claims = [
        anyone.vault.claim(model_id, epoch, i, recipients[i], amounts[i], tree.proof(i)).gas_used
        for i in sample
    ]
    claims_total = sum(claims) if n <= 100 else round(sum(claims) / len(claims) * n)
    return Payout(n, 0, post, finalize, claims_total, len(claims), claims[0])


def payouts(chain: LocalChain, model_id: int) -> tuple[Payout, list[Payout]]:
    """The model's first epoch (one contributor), then an epoch per size: (first, [by size])."""
    payer = chain.client(7)
    needed = 2 * (sum(SIZES) + 1) * OPEN * 2  # contributors get 50% of payments; both payout methods
    payer.vault.pay_for_inference(model_id, needed // OPEN, keccak(text="fund the pool"))
    first = merkle_gas(chain, model_id, 0, _fresh_addresses(1, "first"), [OPEN])
    results = []
    for epoch, n in enumerate(SIZES, start=1):
        amounts = [OPEN + i for i in range(n)]
        direct = transfers_gas(chain, payer, _fresh_addresses(n, f"direct-{n}"), amounts)
        payout = merkle_gas(chain, model_id, epoch, _fresh_addresses(n, f"merkle-{n}"), amounts)
        payout.transfers_total = direct
        results.append(payout)
    return first, results


def comparison(ops: dict[str, int], first: Payout, results: list[Payout]) -> list[dict[str, Any]]:
    """Our figures beside the issue's references and targets."""
    by_size = {r.contributors: r for r in results}
    mean_claim = by_size[100].claims_total // 100
    worst_claim = max(r.first_claim for r in results)
    contribute, accept = ops["contribute (with stake)"], ops["review: accept"]
    epochs = [r.epoch for r in results]
    flat = (max(epochs) - min(epochs)) <= FLAT_TOLERANCE * max(epochs)
    rows = [
        ("contribute (with stake)", contribute, "vana_add_file", "contribute", True),
        ("claim (mean of 100, fresh recipients)", mean_claim, "uniswap_claim", "claim", True),
        ("claim (first of its bitmap word: worst case)", worst_claim, "uniswap_claim", "claim", True),
        ("one file end to end (contribute + review + mean claim)", contribute + accept + mean_claim,
         "vana_end_to_end", "end_to_end", True),
    ]
    rows += [(f"epoch post + finalize, {r.contributors} contributors", r.epoch, None, "epoch", flat)
             for r in results]
    rows.append(("epoch post + finalize, first epoch of a model", first.epoch, None, "epoch", True))
    return [_comparison_row(*row) for row in rows]


def _comparison_row(name: str, ours: int, ref: str | None, target: str, also: bool) -> dict[str, Any]:
    label, figure = REFERENCES[ref] if ref else ("", None)
    limit = TARGETS[target]
    return {"measure": name, "ours": ours, "reference": label, "referenceGas": figure, "target": limit,
            "met": ours <= limit and also}


def _row(cells: tuple[Any, ...]) -> str:
    widths = (5, 12, 9, 10, 9, 12, 10, 13)
    parts = [f"{c:>{w},}" if isinstance(c, int) else f"{c:>{w}}" for c, w in zip(cells, widths, strict=False)]
    return "  " + " ".join(parts) + ("  " + cells[-1] if len(cells) > len(widths) else "")


def _print_payouts(results: list[Payout]) -> None:
    print("\nPaying N contributors: N direct ERC20 transfers vs one epoch root + N claims\n")
    header = ("N", "transfers", "per head", "root post", "finalize", "N claims", "per claim", "merkle total")
    print(_row((*header, "note")))
    for r in results:
        note = (
            "all claims measured"
            if r.claims_measured == r.contributors
            else f"{r.claims_measured} claims sampled, mean x {r.contributors}"
        )
        cells = (r.contributors, r.transfers_total, r.transfers_total // r.contributors, r.root_post,
                 r.root_finalize, r.claims_total, r.claims_total // r.contributors, r.merkle_total, note)
        print(_row(cells))
    print(
        "\n  transfers: paid by the distributor, one tx each (21k base included), measured as a mined batch."
    )
    print("  merkle: the poster pays root post + finalize whatever N; each contributor pays its own claim.")


def _print_comparison(rows: list[dict[str, Any]]) -> None:
    print("\nAgainst issue 12 (references measured by the issue on one Anvil with the same compiler)\n")
    width = max(len(r["measure"]) for r in rows) + 2
    print(f"  {'measure':<{width}}{'ours':>10}  {'target':>9}  {'':5}reference")
    for r in rows:
        reference = f"{r['reference']} {r['referenceGas']:,}" if r["referenceGas"] else ""
        verdict = "ok" if r["met"] else "MISS"
        print(f"  {r['measure']:<{width}}{r['ours']:>10,}  <={r['target']:>7,}  {verdict:<5}{reference}")
    print(f"  (epoch rows must also be flat: within {FLAT_TOLERANCE:.0%} of each other)")


def _print(ops: dict[str, int], results: list[Payout], rows: list[dict[str, Any]], seconds: float) -> None:
    print("Gas per user operation (Anvil, prague, optimizer 200 runs; one run each)\n")
    width = max(len(k) for k in ops) + 2
    for name, gas in ops.items():
        print(f"  {name:<{width}}{gas:>10,}")
    _print_payouts(results)
    _print_comparison(rows)
    print(f"\n  ({seconds:.1f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    started = time.monotonic()
    chain = LocalChain.start(anvil_config=AnvilConfig(accounts=12))
    try:
        ops, model_id = lifecycle_gas(chain)
        first, results = payouts(chain, model_id)
        ten = results[0]
        ops["post epoch root (first of a model)"] = first.root_post
        ops["post epoch root"] = ten.root_post
        ops["finalize epoch"] = ten.root_finalize
        ops[f"claim (mean of {ten.contributors}, proof depth ~4)"] = ten.claims_total // ten.contributors
    finally:
        chain.stop()
    rows = comparison(ops, first, results)
    if args.json:
        payload = {
            "operations": ops,
            "firstEpoch": asdict(first),
            "payouts": [asdict(r) | {"merkle_total": r.merkle_total} for r in results],
            "comparison": rows,
        }
        print(json.dumps(payload, indent=2))
    else:
        _print(ops, results, rows, time.monotonic() - started)


if __name__ == "__main__":
    main()
