"""DatanetRegistry: datanets, staked contributions, curation, versions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eth_utils.address import to_checksum_address
from web3.exceptions import ContractLogicError
from web3.types import BlockIdentifier

from worker.chain.bindings import ContractBinding, TxResult
from worker.chain.reverts import from_logic_error
from worker.chain.types import Contribution, ContributionStatus, Datanet, Policy, Version, from_abi
from worker.errors import ChainError

PERMIT_LIFETIME = 3600  # seconds a contribution permit stays valid
CID_CACHE_SIZE = 100_000  # contributions whose content CID stays in memory (oldest forgotten first)
_REVIEWED = (ContributionStatus.ACCEPTED, ContributionStatus.REJECTED)

# (chain id, deployment block hash, registry, contribution id) -> content CID, for every client of this
# process. The deployment's block hash tells apart chains with the same id and addresses (local Anvils). A
# cached CID is used only while the registry's (contributor, CID) key still resolves to the id, so a chain
# rewound or reorganised since (another CID under that id) is read from its event again.
_CONTENT_CIDS: dict[tuple[int, str, str, int], str] = {}


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
        """Datanet owner only: add (or remove) a curator. A caller that is not the owner, or a change that
        changes nothing, raises a ChainError before any gas is spent."""
        curator = to_checksum_address(curator)
        owner = self.get_datanet(datanet_id).owner  # reverts UnknownDatanet (a call)
        if owner != self.client.address:
            raise ChainError(
                f"account {self.client.address} does not own datanet {datanet_id} (owner {owner}): only "
                "its owner chooses curators; nothing was sent"
            )
        if self.is_curator(datanet_id, curator) == enabled:
            state = "already" if enabled else "not"
            raise ChainError(f"{curator} is {state} a curator of datanet {datanet_id}; nothing was sent")
        return self.transact("setCurator", datanet_id, curator, enabled)

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

    def get_contribution(self, contribution_id: int, block: BlockIdentifier = "latest") -> Contribution:
        """The contribution as the chain has it at `block`. The registry stores the record only: the content
        CID comes from the contribution's ContributionSubmitted event and must resolve back to it through
        `contributionIdByCid` (else ChainError); it never changes, so its event is read once per process.
        The reason CID comes from its ContributionReviewed event ("" until reviewed), read each time: no
        stored value could tell a cached reason from one a reorganisation replaced."""
        raw = self._view_at(block, "getContribution", contribution_id)
        status = ContributionStatus(raw.status)
        record = (
            int(raw.datanetId),
            to_checksum_address(raw.contributor),
            int(raw.byteSize),
            int(raw.recordCount),
            int(raw.submittedAt),
        )
        key = (
            self.client.deployment.chain_id,
            self.client.deployment.block_hash,
            self.address,
            contribution_id,
        )
        cid = _CONTENT_CIDS.get(key)
        if cid is None or self._resolve(block, record, cid) != contribution_id:
            cid = self._verified_content_cid(contribution_id, record, status, block)
            _remember(key, cid)
        return Contribution(
            datanet_id=record[0],
            contributor=record[1],
            content_cid=cid,
            byte_size=record[2],
            record_count=record[3],
            stake=int(raw.stake),
            status=status,
            submitted_at=record[4],
            reason_cid=self._reason_cid(contribution_id) if status in _REVIEWED else "",
            stake_released=bool(raw.stakeReleased),
        )

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

    # ------------------------------------------------------------------ contribution CIDs (events)

    def _verified_content_cid(
        self,
        contribution_id: int,
        record: tuple[int, str, int, int, int],
        status: ContributionStatus,
        block: BlockIdentifier,
    ) -> str:
        """The CID in the contribution's ContributionSubmitted event, once the registry's own (contributor,
        CID) key resolves it back to this id. Only a Withdrawn contribution's key may have moved on, to a
        later resubmission of the same CID by the same contributor."""
        where = f"contribution #{contribution_id} on DatanetRegistry {self.address}"
        events = self.get_events(
            "ContributionSubmitted", self.client.deployment.block_number, "latest", contribution_id
        )
        if len(events) != 1:
            raise ChainError(
                f"{where}: the node returned {len(events)} ContributionSubmitted events for it, not 1, so "
                "its content CID cannot be read; use a node that keeps every log since the deployment"
            )
        event = events[0]
        cid = str(event["contentCid"])
        logged = (
            int(event["datanetId"]),
            to_checksum_address(event["contributor"]),
            int(event["byteSize"]),
            int(event["recordCount"]),
            int(event["submittedAt"]),
        )
        resolved = self._resolve(block, record, cid)
        moved_on = status == ContributionStatus.WITHDRAWN and resolved > contribution_id
        if logged != record or (resolved != contribution_id and not moved_on):
            raise ChainError(
                f"{where}: its ContributionSubmitted event (tx {event.tx_hash}) does not match the registry "
                f"(event: CID {cid}, datanet/contributor/bytes/records/time {logged}; record: {record}; "
                f"contributionIdByCid gives #{resolved}): the node's logs disagree with its state, so the "
                "CID cannot be trusted; try another node"
            )
        return cid

    def _reason_cid(self, contribution_id: int) -> str:
        """The reason CID in the contribution's ContributionReviewed event ("" if there is none)."""
        events = self.get_events(
            "ContributionReviewed", self.client.deployment.block_number, "latest", contribution_id
        )
        return str(events[-1]["reasonCid"]) if events else ""

    def _resolve(self, block: BlockIdentifier, record: tuple[int, str, int, int, int], cid: str) -> int:
        """The id that the record's (datanet, contributor) and `cid` resolve to in the registry at `block`."""
        return int(self._view_at(block, "contributionIdByCid", record[0], record[1], cid))

    def _view_at(self, block: BlockIdentifier, function: str, *args: Any) -> Any:
        """`view`, read at `block`."""
        if block == "latest":
            return self.view(function, *args)
        try:
            return getattr(self.contract.functions, function)(*args).call(
                {"from": self.client.address}, block_identifier=block
            )
        except ContractLogicError as exc:
            raise from_logic_error(
                exc, self.client.sender.errors, self.NAME, function, stage="call"
            ) from None


def _remember(key: tuple[int, str, str, int], cid: str) -> None:
    if key not in _CONTENT_CIDS and len(_CONTENT_CIDS) >= CID_CACHE_SIZE:
        del _CONTENT_CIDS[next(iter(_CONTENT_CIDS))]
    _CONTENT_CIDS[key] = cid
