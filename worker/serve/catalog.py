"""Which models this server answers for, loaded once and reloaded when the chain says the adapter changed.

A worker serves the live models whose registered compute provider is its own account: receipts it signs
for any other model would never be accepted in an epoch. Chain views are cached for a few seconds so a
request costs no RPC round trip in the common case.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from worker.chain.client import ChainClient
from worker.chain.types import Model, ModelStatus
from worker.errors import OpenLedgerError
from worker.jobs.inputs import load_spec
from worker.serve.errors import ModelUnavailable
from worker.serve.loading import live_model, load_served_model
from worker.serve.served_model import AnswerSettings, ServedModel
from worker.storage import ContentStore

CHAIN_VIEW_TTL_S = 5.0
MAX_REFUSED = 4096


@dataclass(frozen=True)
class ModelListing:
    model_id: int
    base_model: str
    price_per_inference: int
    owner: str
    compute_provider: str
    adapter_cid: str
    served_here: bool
    task: str | None = None  # from the model's training spec; None when the spec is not reachable

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": str(self.model_id),
            "object": "model",
            "owned_by": self.owner,
            "base_model": self.base_model,
            "price_per_inference": str(self.price_per_inference),
            "compute_provider": self.compute_provider,
            "adapter_cid": self.adapter_cid,
            "served_here": self.served_here,
            "task": self.task,
        }


class ModelCatalog:
    def __init__(
        self,
        client: ChainClient,
        store: ContentStore,
        cache_dir: Path,
        models: set[int] | None = None,
        settings: AnswerSettings | None = None,
        device: str | None = None,
    ):
        self.client, self.store, self.cache_dir = client, store, cache_dir
        self.models, self.settings, self.device = models, settings, device
        self._loaded: dict[int, ServedModel] = {}
        self._views: dict[int, tuple[float, Model]] = {}
        # models refused just now (unknown, not live): a flood of one made-up id costs one RPC per TTL
        self._refused: OrderedDict[int, tuple[float, ModelUnavailable]] = OrderedDict()
        self._tasks: dict[str, str] = {}
        self._load_lock = threading.Lock()

    def serves(self, model: Model, model_id: int) -> bool:
        allowed = self.models is None or model_id in self.models
        return allowed and model.compute_provider == self.client.address

    def listing(self) -> list[ModelListing]:
        """Every live model on-chain with its price, and whether this server answers for it."""
        out = []
        for model_id in range(1, self.client.models.model_count() + 1):
            m = self.client.models.get_model(model_id)
            if m.status == ModelStatus.LIVE:
                out.append(
                    ModelListing(
                        model_id,
                        m.base_model,
                        m.price_per_inference,
                        m.owner,
                        m.compute_provider,
                        m.adapter_cid,
                        self.serves(m, model_id),
                        self._task(m, model_id),
                    )
                )
        return out

    def _task(self, model: Model, model_id: int) -> str | None:
        """The model's task from its training spec (the same reading the worker trained from)."""
        if model.training_spec_cid not in self._tasks:
            try:
                self._tasks[model.training_spec_cid] = load_spec(self.store, model, model_id).task
            except OpenLedgerError:
                return None
        return self._tasks[model.training_spec_cid]

    def _view(self, model_id: int) -> Model:
        now = time.monotonic()
        cached, refused = self._views.get(model_id), self._refused.get(model_id)
        if cached is not None and now - cached[0] < CHAIN_VIEW_TTL_S:
            return cached[1]
        if refused is not None and now - refused[0] < CHAIN_VIEW_TTL_S:
            raise refused[1]
        try:
            model = live_model(self.client, model_id)
        except ModelUnavailable as exc:
            self._refused[model_id] = (now, exc)
            while len(self._refused) > MAX_REFUSED:
                self._refused.popitem(last=False)
            raise
        self._refused.pop(model_id, None)
        self._views[model_id] = (now, model)
        return model

    def get(self, model_id: int) -> ServedModel:
        """The loaded model; ModelUnavailable (404/409/503) with what to do when it cannot be answered."""
        model = self._view(model_id)
        if not self.serves(model, model_id):
            raise ModelUnavailable(
                f"model {model_id} is not served here: its compute provider {model.compute_provider} serves "
                f"it (this server signs as {self.client.address})",
                code="model_not_served",
            )
        served = self._loaded.get(model_id)
        if served is not None and served.adapter_cid == model.adapter_cid:
            return served
        with self._load_lock:
            served = self._loaded.get(model_id)
            if served is None or served.adapter_cid != model.adapter_cid:
                served = load_served_model(
                    self.client, self.store, model_id, self.cache_dir, self.settings, self.device
                )
                self._loaded[model_id] = served
        return served

    def preload(self) -> list[int]:
        """Load every model this server answers for now (instead of on its first request)."""
        ids = [m.model_id for m in self.listing() if m.served_here]
        for model_id in ids:
            self.get(model_id)
        return ids
