"""Datanet metadata: what a Datanet holds and under which rules; uploaded as canonical JSON (its CID goes
on-chain in `createDatanet`), so every worker validates and hashes contributions the same way."""

from __future__ import annotations

from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from worker.canonical import canonical_json
from worker.data.schema import RecordLimits, RecordSchema
from worker.errors import DataError, StorageError
from worker.storage.cid import PROJECT_PROFILE, CidProfile

METADATA_FORMAT: Final = "openledger.datanet/1"


class DatanetMetadata(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal["openledger.datanet/1"] = METADATA_FORMAT
    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=5_000)
    task: Literal["classification", "generation"]
    labels: list[str] = Field(default_factory=list)
    licence: str = Field(min_length=1, max_length=100, description="SPDX identifier, e.g. CC-BY-4.0")
    limits: RecordLimits = Field(default_factory=RecordLimits)
    cid_profile: dict[str, Any] = Field(default_factory=PROJECT_PROFILE.to_metadata)

    @field_validator("cid_profile")
    @classmethod
    def _known_profile(cls, value: dict[str, Any]) -> dict[str, Any]:
        try:
            return CidProfile.from_metadata(value).to_metadata()
        except StorageError as exc:
            raise ValueError(str(exc)) from exc

    @model_validator(mode="after")
    def _labels_fit_task(self) -> DatanetMetadata:
        try:
            self.record_schema()
        except DataError as exc:
            raise ValueError(str(exc)) from exc
        return self

    def record_schema(self) -> RecordSchema:
        return RecordSchema(task=self.task, labels=tuple(self.labels))

    def profile(self) -> CidProfile:
        return CidProfile.from_metadata(self.cid_profile)

    def canonical_json(self) -> bytes:
        return canonical_json(self.model_dump(mode="json"))

    @classmethod
    def from_json(cls, data: bytes | str) -> DatanetMetadata:
        try:
            return cls.model_validate_json(data)
        except ValidationError as exc:
            raise DataError(f"invalid Datanet metadata: {describe_errors(exc)}") from exc


def describe_errors(exc: ValidationError) -> str:
    """pydantic errors as one line: `field.path: message; ...`."""
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'metadata'}: {e['msg']}" for e in exc.errors())
