"""Which models this server answers for, loaded on demand and reloaded when the chain says the adapter
changed; at most `max_adapters` stay loaded (least recently used out first), every adapter of one base
model on a single copy of that base (serve/adapters.py).

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
from worker.serve.adapters import BasePool
from worker.serve.chat import has_chat_template
from worker.serve.errors import ModelUnavailable
from worker.serve.loading import live_model, load_served_model
from worker.serve.served_model import AnswerSettings, ServedModel
from worker.storage import ContentStore
from worker.train.catalogue import resolve_base_model
from worker.train.modeling import load_tokenizer

CHAIN_VIEW_TTL_S = 5.0
MAX_REFUSED = 4096
# Adapters kept loaded at once (`serve --max-adapters`): a LoRA adapter of a 135M base with its index
# costs a few MB, so 64 stay well under a GB beside the one copy of each base.
MAX_ADAPTERS = 64


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
    chat_template: bool = False  # a language model whose base tokenizer has a chat template

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
            "chat_template": self.chat_template,
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
        max_adapters: int = MAX_ADAPTERS,
    ):
        if max_adapters < 1:
            raise ValueError(f"max_adapters must be at least 1, not {max_adapters}")
        self.client, self.store, self.cache_dir = client, store, cache_dir
        self.models, self.settings, self.device = models, settings, device
        self.max_adapters = max_adapters
        self.bases = BasePool(device)
        # loaded models, least recently used first (`_lru_lock` guards the order)
        self._loaded: OrderedDict[int, ServedModel] = OrderedDict()
        self._lru_lock = threading.Lock()
        self._views: dict[int, tuple[float, Model]] = {}
        # models refused just now (unknown, not live): a flood of one made-up id costs one RPC per TTL
        self._refused: OrderedDict[int, tuple[float, ModelUnavailable]] = OrderedDict()
        self._tasks: dict[str, str] = {}
        self._templates: dict[str, bool] = {}  # training spec CID -> its base has a chat template
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
                        task := self._task(m, model_id),
                        task == "generation" and self._chat_template(m, model_id),
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

    def servable(self, model_id: int) -> Model:
        """The model's (cached) chain view when this server answers for it, loading nothing:
        ModelUnavailable (404/409) otherwise. The service refuses with it before the payment is checked,
        and loads (`get`) only for a request whose paid unit is reserved."""
        model = self._view(model_id)
        if not self.serves(model, model_id):
            raise ModelUnavailable(
                f"model {model_id} is not served here: its compute provider {model.compute_provider} serves "
                f"it (this server signs as {self.client.address})",
                code="model_not_served",
            )
        return model

    def task_of(self, model: Model, model_id: int) -> str | None:
        """The model's task as its training spec says (read once per spec, no model loaded); None when
        the spec is not readable now (the loaded model's own spec then decides)."""
        try:
            return self._task(model, model_id)
        except (ValueError, KeyError, TypeError):  # a spec the loader will refuse with its own 503
            return None

    def get(self, model_id: int) -> ServedModel:
        """The loaded model; ModelUnavailable (404/409/503) with what to do when it cannot be answered."""
        model = self.servable(model_id)
        served = self._recent(model_id, model.adapter_cid)
        if served is not None:
            return served
        with self._load_lock:
            served = self._recent(model_id, model.adapter_cid)
            if served is None:
                served = load_served_model(
                    self.client,
                    self.store,
                    model_id,
                    self.cache_dir,
                    self.settings,
                    self.device,
                    self.bases,
                )
                self._keep(served)
        return served

    def _recent(self, model_id: int, adapter_cid: str) -> ServedModel | None:
        """The loaded model with this adapter, now the most recently used; None if it must be loaded."""
        with self._lru_lock:
            served = self._loaded.get(model_id)
            if served is None or served.adapter_cid != adapter_cid:
                return None
            self._loaded.move_to_end(model_id)
            return served

    def _keep(self, served: ServedModel) -> None:
        """Add a freshly loaded model, dropping the one it replaces and the least recently used beyond
        `max_adapters` (their tensors are freed, and a base once no adapter uses it)."""
        with self._lru_lock:
            dropped = [old] if (old := self._loaded.pop(served.model_id, None)) is not None else []
            self._loaded[served.model_id] = served
            while len(self._loaded) > self.max_adapters:
                dropped.append(self._loaded.popitem(last=False)[1])
        for old in dropped:
            if old.adapter is not None:
                self.bases.release(old.adapter)

    @property
    def loaded(self) -> list[int]:
        """The ids of the loaded models, least recently used first."""
        with self._lru_lock:
            return list(self._loaded)

    def _chat_template(self, model: Model, model_id: int) -> bool:
        """Whether the model's base tokenizer has a chat template (read from a loaded model when there
        is one, else by loading the tokenizer alone, once per base)."""
        served = self._loaded.get(model_id)
        if served is not None:
            return has_chat_template(served.analyzer.loaded.tokenizer)
        if model.training_spec_cid not in self._templates:
            try:
                base = load_spec(self.store, model, model_id).base_model
                template = has_chat_template(load_tokenizer(resolve_base_model(base)))
            except OpenLedgerError:
                return False
            self._templates[model.training_spec_cid] = template
        return self._templates[model.training_spec_cid]

    def preload(self) -> list[int]:
        """Load the models this server answers for now (instead of on their first request), as many as
        `max_adapters` keeps; the ids of all of them."""
        ids = [m.model_id for m in self.listing() if m.served_here]
        for model_id in ids[: self.max_adapters]:
            self.get(model_id)
        return ids
