"""Dataset versions: the manifest listing a version's accepted contributions, and its Merkle root.

The root published on-chain (`publishVersion`) is the OpenZeppelin StandardMerkleTree root over one leaf
per contribution, typed ["uint256", "address", "string", "uint32"] =
(contributionId, contributor, contentCid, recordCount): anyone holding the manifest recomputes it, and a
contract or a wallet can prove that a contribution belongs to a version.
"""

from __future__ import annotations

from typing import Any, Final, Literal

from eth_utils.address import is_address, to_checksum_address
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from worker.canonical import canonical_json
from worker.data.metadata import describe_errors
from worker.errors import DataError
from worker.merkle import StandardMerkleTree
from worker.storage.cid import PROJECT_PROFILE, parse_cid
from worker.storage.errors import InvalidCidError

MANIFEST_FORMAT: Final = "openledger.manifest/1"
LEAF_ENCODING = ("uint256", "address", "string", "uint32")
UINT32_MAX = 2**32 - 1
UINT64_MAX = 2**64 - 1


class ContributionEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    contribution_id: int = Field(ge=1, le=2**256 - 1)
    contributor: str
    cid: str
    record_count: int = Field(ge=1, le=UINT32_MAX)
    byte_size: int = Field(ge=1, le=UINT64_MAX)

    @field_validator("contributor")
    @classmethod
    def _address(cls, value: str) -> str:
        if not is_address(value):
            raise ValueError(f"{value!r} is not an Ethereum address")
        return to_checksum_address(value)

    @field_validator("cid")
    @classmethod
    def _cid(cls, value: str) -> str:
        try:
            parse_cid(value)
        except InvalidCidError as exc:
            raise ValueError(str(exc)) from exc
        return value

    def leaf(self) -> list[Any]:
        return [self.contribution_id, self.contributor, self.cid, self.record_count]


class DatasetManifest(BaseModel):
    """Contributions are kept sorted by id (canonical form); ids and CIDs are unique."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal["openledger.manifest/1"] = MANIFEST_FORMAT
    datanet_id: int = Field(ge=1)
    contributions: list[ContributionEntry] = Field(min_length=1, max_length=UINT32_MAX)
    cid_profile: dict[str, Any] = Field(default_factory=PROJECT_PROFILE.to_metadata)

    @field_validator("contributions")
    @classmethod
    def _canonical_order(cls, value: list[ContributionEntry]) -> list[ContributionEntry]:
        ordered = sorted(value, key=lambda entry: entry.contribution_id)
        for previous, entry in zip(ordered, ordered[1:], strict=False):
            if previous.contribution_id == entry.contribution_id:
                raise ValueError(f"contribution {entry.contribution_id} is listed twice")
        # The registry keys contributions by (contributor, CID): the same file from two contributors is
        # two contributions (a copy never displaces the original), but one contributor's file is one.
        keys = [(entry.contributor, entry.cid) for entry in ordered]
        if len(set(keys)) != len(keys):
            raise ValueError("a contributor's CID is listed twice (the registry takes it once)")
        return ordered

    @property
    def record_count(self) -> int:
        return sum(entry.record_count for entry in self.contributions)

    @property
    def contribution_count(self) -> int:
        return len(self.contributions)

    def merkle_tree(self) -> StandardMerkleTree:
        return StandardMerkleTree.of([entry.leaf() for entry in self.contributions], LEAF_ENCODING)

    def merkle_root(self) -> str:
        """0x-prefixed bytes32 hex, the `merkleRoot` argument of `publishVersion`."""
        return self.merkle_tree().root

    def proof(self, contribution_id: int) -> list[str]:
        tree = self.merkle_tree()
        for index, entry in enumerate(self.contributions):
            if entry.contribution_id == contribution_id:
                return tree.get_proof(index)
        raise DataError(f"contribution {contribution_id} is not in this version of datanet {self.datanet_id}")

    def canonical_json(self) -> bytes:
        return canonical_json(self.model_dump(mode="json"))

    @classmethod
    def from_json(cls, data: bytes | str) -> DatasetManifest:
        try:
            return cls.model_validate_json(data)
        except ValidationError as exc:
            raise DataError(f"invalid dataset manifest: {describe_errors(exc)}") from exc
