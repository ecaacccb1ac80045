"""get_events asks for a long range in pieces of `max_log_range` blocks (hosted RPCs cap one eth_getLogs),
with the same events in the same order as one query, and resolves a block tag once."""

from __future__ import annotations

from rpc_counter import counted_client

from worker.chain.devnet import LocalChain
from worker.demo.scenarios import fund, live_model


def test_a_long_range_is_read_in_pieces_with_the_same_events(admin_devnet: LocalChain) -> None:
    start = admin_devnet.dev.block_number() + 1
    model_id, _ = live_model(admin_devnet, requests=5)
    fund(admin_devnet, (4,))
    payer = admin_devnet.client(4).vault
    for count in (1, 2, 3):
        payer.pay_for_inference(model_id, count)
        admin_devnet.dev.mine(3)
    whole = admin_devnet.client(0).vault.get_events("InferencePaid", start, "latest")
    assert [e["requestCount"] for e in whole] == [5, 1, 2, 3]

    client, rpc = counted_client(admin_devnet, 0, max_log_range=4)
    head = admin_devnet.dev.block_number()
    pieces = client.vault.get_events("InferencePaid", start, "latest")
    assert pieces == whole
    assert rpc.count("eth_getLogs") == -(-(head - start + 1) // 4)
    assert rpc.count("eth_blockNumber") == 1  # "latest" resolved once, not per piece
    ranges = [(int(p[0]["fromBlock"], 16), int(p[0]["toBlock"], 16)) for p in rpc.params_of("eth_getLogs")]
    assert ranges[0][0] == start and ranges[-1][1] == head
    assert all(b - a + 1 <= 4 for a, b in ranges)
    assert all(nxt[0] == prev[1] + 1 for prev, nxt in zip(ranges, ranges[1:], strict=False))

    # An indexed filter and an explicit end block behave the same in pieces.
    first = whole[1]["paymentId"]
    rpc.reset()
    assert client.vault.get_events("InferencePaid", start, head, first) == [whole[1]]
    assert rpc.count("eth_blockNumber") == 0 and rpc.count("eth_getLogs") == len(ranges)
    assert client.vault.get_payment(first) == admin_devnet.client(0).vault.get_payment(first)


def test_an_empty_range_asks_nothing(admin_devnet: LocalChain) -> None:
    client, rpc = counted_client(admin_devnet, 0, max_log_range=4)
    head = admin_devnet.dev.block_number()
    assert client.vault.get_events("InferencePaid", head + 1, head) == []
    assert rpc.count("eth_getLogs") == 0


def test_a_finalized_tag_is_resolved_once(admin_devnet: LocalChain) -> None:
    admin_devnet.dev.mine(70)  # Anvil's finalized block trails its head by 64
    client, rpc = counted_client(admin_devnet, 0, max_log_range=2)
    finalized = int(admin_devnet.w3.eth.get_block("finalized")["number"])
    client.vault.get_events("InferencePaid", finalized - 5, "finalized")
    assert rpc.count("eth_getLogs") == 3
    ranges = rpc.params_of("eth_getLogs")
    assert int(ranges[-1][0]["toBlock"], 16) == finalized
