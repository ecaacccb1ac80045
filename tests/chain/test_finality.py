"""Finality: a depth, or the node's finalized tag; the default per chain; a node without the tag is a clear
error that names --confirmations."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from worker.chain.anvil import free_port
from worker.chain.connection import connect
from worker.chain.devnet import LocalChain
from worker.chain.finality import Finality
from worker.errors import ChainError


def test_the_default_follows_the_chain_and_explicit_confirmations_win() -> None:
    assert Finality.for_chain(31337) == Finality(1) == Finality.confirmations(1)
    assert Finality.for_chain(1337).depth == 1
    assert Finality.for_chain(1) == Finality.finalized_tag() and Finality.for_chain(1).uses_tag
    assert Finality.for_chain(8453, confirmations=12) == Finality(12)
    assert Finality.for_chain(31337, confirmations=3).depth == 3
    with pytest.raises(ValueError, match=">= 1"):
        Finality(0)
    assert "1 confirmation" in Finality(1).describe()
    assert "12 confirmations" in Finality(12).describe()
    assert "finalized" in Finality.finalized_tag().describe()


def test_the_final_block_by_depth_and_by_tag(devnet: LocalChain) -> None:
    devnet.dev.mine(70)
    head = devnet.dev.block_number()
    assert Finality(1).final_block(devnet.w3) == head
    assert Finality(3).final_block(devnet.w3, head) == head - 2
    assert Finality(head + 10).final_block(devnet.w3) == 0  # a young chain: only genesis is final
    finalized = int(devnet.w3.eth.get_block("finalized")["number"])
    assert Finality.finalized_tag().final_block(devnet.w3) == finalized < head


class _NoFinalizedTag(BaseHTTPRequestHandler):
    """A node that predates the tag (as some L2s and older clients do): the rest goes to Anvil."""

    upstream = ""

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        call = json.loads(body)
        if call.get("method") == "eth_getBlockByNumber" and call["params"][0] == "finalized":
            error = {"code": -32602, "message": "invalid block tag"}
            reply = json.dumps({"jsonrpc": "2.0", "id": call["id"], "error": error}).encode()
        else:
            headers = {"Content-Type": "application/json"}
            reply = requests.post(self.upstream, data=body, headers=headers, timeout=30).content
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args: object) -> None:
        pass


def test_a_node_without_the_finalized_tag_says_to_pass_confirmations(devnet: LocalChain) -> None:
    upstream = devnet.w3.provider.endpoint_uri  # type: ignore[attr-defined]
    handler = type("Handler", (_NoFinalizedTag,), {"upstream": upstream})
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        w3 = connect(f"http://127.0.0.1:{server.server_port}")
        with pytest.raises(ChainError, match="--confirmations") as refused:
            Finality.finalized_tag().final_block(w3)
        assert "invalid block tag" in str(refused.value)
        assert Finality(2).final_block(w3) == devnet.dev.block_number() - 1  # a depth still works there
    finally:
        server.shutdown()
        server.server_close()
