"""Headless Chromium (Debian's package, never a Playwright download) and a test EIP-1193 wallet injected
into the page: `window.ethereum.request` calls into Python, which signs with an Anvil dev account through
worker/chain/accounts.py, so the page runs exactly the code a user's wallet would drive."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from web3 import Web3
from web3.exceptions import ContractLogicError

from worker.chain.accounts import Signer, dev_signer
from worker.chain.reverts import revert_data

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip

PROVIDER_JS = """
(() => {
  const listeners = {};
  window.ethereum = {
    isDevWallet: true,
    async request({ method, params }) {
      const answer = JSON.parse(await window.__walletRpc(method, JSON.stringify(params || [])));
      if (answer.error) {
        const error = new Error(answer.error.message);
        error.code = answer.error.code;
        error.data = answer.error.data;
        throw error;
      }
      return answer.result;
    },
    on(name, fn) { (listeners[name] = listeners[name] || []).push(fn); },
    removeListener(name, fn) { listeners[name] = (listeners[name] || []).filter((f) => f !== fn); },
  };
})();
"""


def chromium_available() -> bool:
    return shutil.which(CHROMIUM) is not None


def _typed_value(kind: str, value: Any) -> Any:
    if kind.startswith(("uint", "int")):
        return int(value)
    if kind.startswith("bytes") and isinstance(value, str):
        return bytes.fromhex(value.removeprefix("0x"))
    return value


@dataclass
class DevWallet:
    """The account the page's wallet signs with (switch with `use`), and every request it saw."""

    w3: Web3
    index: int
    calls: list[str] = field(default_factory=list)
    before_send: Callable[[dict[str, Any]], None] | None = None  # a test's hook: act just before a send

    @property
    def signer(self) -> Signer:
        return dev_signer(self.index)

    def use(self, index: int) -> None:
        self.index = index

    def sent(self) -> int:
        return self.calls.count("eth_sendTransaction")

    def handle(self, method: str, params_json: str) -> str:
        self.calls.append(method)
        params = json.loads(params_json)
        try:
            return json.dumps({"result": self._answer(method, params)})
        except _RpcError as exc:
            return json.dumps({"error": exc.payload})

    def _answer(self, method: str, params: list[Any]) -> Any:
        if method in ("eth_requestAccounts", "eth_accounts"):
            return [self.signer.address]
        if method == "eth_chainId":
            return hex(self.w3.eth.chain_id)
        if method == "eth_sendTransaction":
            return self._send(params[0])
        if method == "eth_signTypedData_v4":
            return self._sign_typed(json.loads(params[1]))
        answer = self.w3.provider.make_request(method, params)  # type: ignore[arg-type]
        if "error" in answer:
            raise _RpcError(dict(answer["error"]))
        return answer["result"]

    def _send(self, request: dict[str, Any]) -> str:
        if Web3.to_checksum_address(request["from"]) != self.signer.address:
            raise _RpcError({"code": 4100, "message": "the wallet is not connected to that account"})
        if self.before_send is not None:
            hook, self.before_send = self.before_send, None
            hook(request)
        tx = {
            "from": self.signer.address,
            "to": Web3.to_checksum_address(request["to"]),
            "data": request["data"],
            "value": int(request.get("value") or "0x0", 16),
            "chainId": self.w3.eth.chain_id,
            "nonce": self.w3.eth.get_transaction_count(self.signer.address, "pending"),
        }
        try:
            tx["gas"] = int(self.w3.eth.estimate_gas(tx) * 1.2)  # type: ignore[arg-type]
        except ContractLogicError as exc:  # what a real wallet reports: code 3 with the revert data
            raise _RpcError({"code": 3, "message": "execution reverted", "data": revert_data(exc)}) from None
        base = int(self.w3.eth.get_block("latest")["baseFeePerGas"])
        tx.update(maxFeePerGas=2 * base + 10**9, maxPriorityFeePerGas=10**9)
        raw = self.signer.sign_transaction(tx)
        return "0x" + bytes(self.w3.eth.send_raw_transaction(raw)).hex()

    def _sign_typed(self, typed: dict[str, Any]) -> str:
        types = {k: v for k, v in typed["types"].items() if k != "EIP712Domain"}
        fields = {f["name"]: f["type"] for f in types[typed["primaryType"]]}
        message = {k: _typed_value(fields[k], v) for k, v in typed["message"].items()}
        domain = dict(typed["domain"], chainId=int(typed["domain"]["chainId"]))
        return self.signer.sign_typed_data(domain, types, message).to_hex()


class _RpcError(Exception):
    def __init__(self, payload: dict[str, Any]):
        super().__init__(payload.get("message"))
        self.payload = payload


def launch(playwright: Any) -> Any:
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def open_page(browser: Any, wallet: DevWallet | None, viewport: tuple[int, int] = (1280, 900)) -> Any:
    context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
    if wallet is not None:
        context.expose_function("__walletRpc", wallet.handle)
        context.add_init_script(PROVIDER_JS)
    return context.new_page()


def shot(page: Any, folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
