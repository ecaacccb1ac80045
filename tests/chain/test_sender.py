"""The transaction sender: one nonce manager per account under concurrency, resync, retries."""

from __future__ import annotations

import threading

import pytest
import requests
from web3.exceptions import Web3RPCError

from worker.chain.accounts import dev_signer
from worker.chain.devnet import LocalChain
from worker.chain.retry import RetryPolicy, is_transient, with_retries
from worker.chain.sender import TransactionSender
from worker.demo.scenarios import OPEN
from worker.errors import ChainError


def test_concurrent_sends_from_one_account_get_distinct_nonces(devnet: LocalChain) -> None:
    sender_client = devnet.client(0)
    recipients = [devnet.client(i).address for i in range(12, 16)]
    start_nonce = devnet.w3.eth.get_transaction_count(sender_client.address)
    before = {r: sender_client.token.balance_of(r) for r in recipients}
    results, errors = [], []

    def send_many(recipient: str) -> None:
        try:
            for _ in range(5):
                results.append(sender_client.token.transfer(recipient, OPEN))
        except Exception as exc:  # collected: a thread's exception would otherwise vanish
            errors.append(exc)

    threads = [threading.Thread(target=send_many, args=(r,)) for r in recipients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors and len(results) == 20
    nonces = sorted(devnet.w3.eth.get_transaction(r.tx_hash)["nonce"] for r in results)
    assert nonces == list(range(start_nonce, start_nonce + 20))
    assert all(sender_client.token.balance_of(r) - before[r] == 5 * OPEN for r in recipients)


def test_senders_of_one_account_share_one_nonce_manager(devnet: LocalChain) -> None:
    a = TransactionSender(devnet.w3, dev_signer(3))
    b = TransactionSender(devnet.w3, dev_signer(3))
    assert a.nonces is b.nonces
    assert TransactionSender(devnet.w3, dev_signer(4)).nonces is not a.nonces


def test_resyncs_after_a_transaction_sent_elsewhere(devnet: LocalChain) -> None:
    client = devnet.client(0)
    client.token.transfer(devnet.client(12).address, OPEN)  # the manager now caches nonce n+1
    # Another program (same key) uses nonce n+1 behind our back.
    raw = dev_signer(0).sign_transaction(
        {
            "to": devnet.client(13).address,
            "value": 1,
            "gas": 21_000,
            "maxFeePerGas": 10**11,
            "maxPriorityFeePerGas": 10**9,
            "chainId": devnet.w3.eth.chain_id,
            "nonce": devnet.w3.eth.get_transaction_count(client.address, "pending"),
        }
    )
    devnet.w3.eth.send_raw_transaction(raw)
    result = client.token.transfer(devnet.client(12).address, OPEN)  # "nonce too low" -> resync -> sent
    assert (
        devnet.w3.eth.get_transaction(result.tx_hash)["nonce"]
        == devnet.w3.eth.get_transaction_count(client.address) - 1
    )


def test_a_nonce_gap_fails_fast_and_recovers(devnet: LocalChain) -> None:
    client = devnet.client(0)
    snapshot = devnet.dev.snapshot()
    client.token.transfer(devnet.client(12).address, OPEN)
    devnet.dev.rpc("evm_revert", [snapshot])  # rewind without telling the nonce manager
    with pytest.raises(ChainError, match="will never be mined"):
        client.token.transfer(devnet.client(12).address, OPEN)
    devnet.dev.rpc("anvil_dropAllTransactions")  # the stuck transaction would otherwise fill the gap later
    assert client.token.transfer(devnet.client(12).address, OPEN).gas_used > 0


def test_retries_transient_errors_with_backoff() -> None:
    calls, sleeps = [], []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise requests.ConnectionError("connection reset")
        return "ok"

    assert with_retries(flaky, RetryPolicy(attempts=4, initial_delay=0.1), sleep=sleeps.append) == "ok"
    assert len(calls) == 3 and sleeps == [0.1, 0.2]


def test_does_not_retry_errors_that_would_fail_again() -> None:
    calls = []

    def refused() -> None:
        calls.append(1)
        raise Web3RPCError("nonce too low")

    with pytest.raises(Web3RPCError):
        with_retries(refused, RetryPolicy(attempts=5), sleep=lambda _: None)
    assert len(calls) == 1
    assert is_transient(Web3RPCError("429 Too Many Requests: rate limit"))
    assert not is_transient(ValueError("execution reverted"))


def test_gives_up_after_the_last_attempt() -> None:
    def down() -> None:
        raise requests.Timeout("read timed out")

    with pytest.raises(requests.Timeout):
        with_retries(down, RetryPolicy(attempts=3, initial_delay=0.01), sleep=lambda _: None)
