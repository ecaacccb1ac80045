"""An HTTP provider that records every JSON-RPC call it sends to the real node, and a ChainClient on it:
how the tests count what a lookup costs (imported by plain name, like rpc_proxy.py)."""

from __future__ import annotations

import threading
from typing import Any

from web3 import HTTPProvider, Web3

from worker.chain.accounts import dev_signer
from worker.chain.artifacts import error_table
from worker.chain.client import ChainClient, decoder_for
from worker.chain.devnet import LocalChain


class CountingProvider(HTTPProvider):
    def __init__(self, url: str):
        super().__init__(url, exception_retry_configuration=None)
        self.calls: list[tuple[str, Any]] = []
        self._lock = threading.Lock()

    def make_request(self, method: Any, params: Any) -> Any:
        with self._lock:
            self.calls.append((str(method), params))
        return super().make_request(method, params)

    def count(self, method: str) -> int:
        with self._lock:
            return sum(1 for name, _ in self.calls if name == method)

    def params_of(self, method: str) -> list[Any]:
        with self._lock:
            return [params for name, params in self.calls if name == method]

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()


def counted_client(chain: LocalChain, index: int, **options: Any) -> tuple[ChainClient, CountingProvider]:
    """Dev account `index` on `chain` through its own counting connection (`options`: ChainClient's)."""
    provider = CountingProvider(chain.w3.provider.endpoint_uri)  # type: ignore[attr-defined]
    client = ChainClient(
        Web3(provider), dev_signer(index), chain.deployment, errors=error_table(),
        decoder=decoder_for(chain.deployment), **options,
    )
    return client, provider
