"""DatanetRegistry: datanets, staked contributions, curation, versions."""

from __future__ import annotations

from collections.abc import Sequence

from eth_utils import to_checksum_address

from worker.chain.bindings import ContractBinding, TxResult
from worker.chain.types import Contribution, Datanet, Policy, Version, from_abi

PERMIT_LIFETIME = 3600  # seconds a contribution permit stays valid


class DatanetRegistry(ContractBinding):
    NAME = "DatanetRegistry"
    CREATED_ID = {
        "createDatanet": ("DatanetCreated", "datanetId"),
        "contribute": ("ContributionSubmitted", "contributionId"),
        "contributeWithPermit": ("ContributionSubmitted", "contributionId"),
        "publishVersion": ("VersionPublished", "versionId"),
    }

    # ------------------------------------------------------------------ writes

    def create_datanet(
        self, metadata_cid: str, treasury: str, policy: Policy, curators: Sequence[str] = ()
    ) -> TxResult:
        """Create a datanet owned by this account; `created_id` is the datanet id."""
        return self.transact(
            "createDatanet",
            metadata_cid,
            to_checksum_address(treasury),
            policy.as_tuple(),
            [to_checksum_address(c) for c in curators],
        )

    def set_curator(self, datanet_id: int, curator: str, enabled: bool) -> TxResult:
        return self.transact("setCurator", datanet_id, to_checksum_address(curator), enabled)

    def contribute(self, datanet_id: int, content_cid: str, byte_size: int, record_count: int) -> TxResult:
        """Approve the datanet's stake if needed, then submit; `created_id` is the contribution id."""
        stake = self.get_datanet(datanet_id).policy.stake_per_contribution
        self.client.token.ensure_allowance(self.address, stake)
        return self.transact("contribute", datanet_id, content_cid, byte_size, record_count)

    def contribute_with_permit(
        self, datanet_id: int, content_cid: str, byte_size: int, record_count: int
    ) -> TxResult:
        """Submit with an EIP-2612 permit for the stake instead of a separate approve transaction."""
        stake = self.get_datanet(datanet_id).policy.stake_per_contribution
        deadline = self.client.latest_timestamp() + PERMIT_LIFETIME
        permit = self.client.token.sign_permit(self.client.signer, self.address, stake, deadline)
        return self.transact(
            "contributeWithPermit",
            datanet_id,
            content_cid,
            byte_size,
            record_count,
            permit.deadline,
            permit.v,
            permit.r,
            permit.s,
        )

    def review(self, contribution_id: int, accept: bool, reason_cid: str = "") -> TxResult:
        return self.transact("review", contribution_id, accept, reason_cid)

    def release_stake(self, contribution_id: int) -> TxResult:
        return self.transact("releaseStake", contribution_id)

    def withdraw_contribution(self, contribution_id: int) -> TxResult:
        return self.transact("withdrawContribution", contribution_id)

    def publish_version(
        self,
        datanet_id: int,
        merkle_root: bytes,
        manifest_cid: str,
        record_count: int,
        contribution_count: int,
    ) -> TxResult:
        """Publish a version; `created_id` is the version number within the datanet (1, 2, ...)."""
        return self.transact(
            "publishVersion", datanet_id, merkle_root, manifest_cid, record_count, contribution_count
        )

    def set_max_review_period(self, seconds: int) -> TxResult:
        return self.transact("setMaxReviewPeriod", seconds)

    # ------------------------------------------------------------------ views

    def datanet_count(self) -> int:
        return int(self.view("datanetCount"))

    def get_datanet(self, datanet_id: int) -> Datanet:
        return from_abi(Datanet, self.view("getDatanet", datanet_id))

    def contribution_count(self) -> int:
        return int(self.view("contributionCount"))

    def get_contribution(self, contribution_id: int) -> Contribution:
        return from_abi(Contribution, self.view("getContribution", contribution_id))

    def version_count(self, datanet_id: int) -> int:
        return int(self.view("versionCount", datanet_id))

    def get_version(self, datanet_id: int, version_id: int) -> Version:
        return from_abi(Version, self.view("getVersion", datanet_id, version_id))

    def is_curator(self, datanet_id: int, account: str) -> bool:
        return bool(self.view("isCurator", datanet_id, to_checksum_address(account)))

    def accepted_count(self, datanet_id: int) -> int:
        return int(self.view("acceptedCount", datanet_id))

    def contribution_id_by_cid(self, datanet_id: int, contributor: str, content_cid: str) -> int:
        """Latest contribution `contributor` submitted with this CID (contributions are keyed by
        (contributor, CID), so someone else's copy of a CID is another contribution); 0 if none."""
        return int(
            self.view("contributionIdByCid", datanet_id, to_checksum_address(contributor), content_cid)
        )

    def total_stake_held(self) -> int:
        return int(self.view("totalStakeHeld"))

    def max_review_period(self) -> int:
        return int(self.view("maxReviewPeriod"))
