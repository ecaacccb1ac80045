"""From a trained, attributed model to what goes on-chain: three CIDs and the attribution root.

The root commits to each contributor's share of the positive model-level attribution, in parts per
million (worker.attribution.shares: the same rule as every receipt's weights), as OpenZeppelin
StandardMerkleTree leaves (address, uint256): anyone can prove a share with standard tooling, and a
challenger recomputes it from the report.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from worker.attribution.report import AttributionReport
from worker.attribution.shares import ppm_shares
from worker.canonical import canonical_json
from worker.merkle.standard_tree import StandardMerkleTree
from worker.storage import ContentStore, add_directory
from worker.train.artifacts import read_metrics

ATTRIBUTION_LEAF = ["address", "uint256"]


@dataclass(frozen=True)
class JobResult:
    adapter_cid: str
    metrics_cid: str
    report_cid: str
    attribution_root: str  # 0x-prefixed bytes32

    def to_dict(self) -> dict[str, str]:
        return asdict(self)

    @property
    def root_bytes(self) -> bytes:
        return bytes.fromhex(self.attribution_root[2:])


def contributor_weights(report: AttributionReport) -> tuple[dict[str, int], list[str]]:
    """Positive model-level attribution per contributor in ppm (payouts use positive scores only), and
    the contributors flagged as likely harmful."""
    rows = report.model_level_contributors()
    weights = dict(ppm_shares({row.key: row.weight for row in rows}))
    return weights, [row.key for row in rows if row.flagged]


def attribution_tree(weights: dict[str, int]) -> StandardMerkleTree:
    if not weights:
        # A model no record helped still gets a well-defined commitment: the tree of zero weight.
        return StandardMerkleTree.of([["0x" + "00" * 20, 0]], ATTRIBUTION_LEAF)
    return StandardMerkleTree.of([[a, w] for a, w in sorted(weights.items())], ATTRIBUTION_LEAF)


def publish_result(store: ContentStore, model_dir: Path, report: AttributionReport) -> JobResult:
    """Upload the model directory (adapter + index), its metrics and the attribution report."""
    weights, _ = contributor_weights(report)
    return JobResult(
        adapter_cid=add_directory(store, model_dir),
        metrics_cid=store.add(canonical_json(read_metrics(model_dir))),
        report_cid=store.add(canonical_json(report.to_dict())),
        attribution_root=attribution_tree(weights).root,
    )
