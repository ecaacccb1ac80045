"""Who signs: a private key from the environment, an encrypted keystore, or Anvil's dev accounts.

Keys never travel on the command line (they would land in shell history and `ps`): the private key comes
from `OPENLEDGER_PRIVATE_KEY`, a keystore's password from `OPENLEDGER_KEYSTORE_PASSWORD` or a prompt.
"""

from __future__ import annotations

import getpass
import json
import os
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress, HexStr
from eth_utils.address import to_checksum_address

from worker.chain.anvil import DEFAULT_MNEMONIC
from worker.errors import ChainError
from worker.files import atomic_write

PRIVATE_KEY_ENV = "OPENLEDGER_PRIVATE_KEY"
KEYSTORE_ENV = "OPENLEDGER_KEYSTORE"
KEYSTORE_PASSWORD_ENV = "OPENLEDGER_KEYSTORE_PASSWORD"
DEV_ACCOUNT_PATH = "m/44'/60'/0'/0/{index}"


@dataclass(frozen=True)
class Signature:
    v: int
    r: bytes
    s: bytes

    def to_hex(self) -> str:
        """The 65-byte r || s || v form wallets and `recover_typed_data` use, 0x-prefixed."""
        return "0x" + self.r.hex() + self.s.hex() + bytes([self.v]).hex()


def recover_typed_data(
    domain: dict[str, Any], types: dict[str, Any], message: dict[str, Any], signature: bytes
) -> str:
    """The address that signed EIP-712 `message`; ValueError/TypeError if `signature` is not one."""
    return str(Account.recover_message(encode_typed_data(domain, types, message), signature=signature))


class Signer(Protocol):
    """What signs for an account: a local key here, or an adapter (e.g. an ape account in scripts/)."""

    @property
    def address(self) -> ChecksumAddress: ...

    @property
    def source(self) -> str: ...

    def sign_transaction(self, tx: dict[str, Any]) -> bytes: ...

    def sign_typed_data(
        self, domain: dict[str, Any], types: dict[str, Any], message: dict[str, Any]
    ) -> Signature: ...


class LocalSigner:
    """A local key that signs transactions and EIP-712 messages; `source` says where it came from."""

    def __init__(self, account: LocalAccount, source: str):
        self._account = account
        self._source = source

    @property
    def source(self) -> str:
        return self._source

    @property
    def address(self) -> ChecksumAddress:
        return self._account.address

    def sign_transaction(self, tx: dict[str, Any]) -> bytes:
        return bytes(self._account.sign_transaction(tx).raw_transaction)

    def sign_typed_data(
        self, domain: dict[str, Any], types: dict[str, Any], message: dict[str, Any]
    ) -> Signature:
        signed = self._account.sign_typed_data(domain, types, message)
        return Signature(v=signed.v, r=signed.r.to_bytes(32, "big"), s=signed.s.to_bytes(32, "big"))

    def __repr__(self) -> str:  # never the key
        return f"LocalSigner({self.address}, from {self.source})"


NO_ACCOUNT = (
    f"set {PRIVATE_KEY_ENV}, pass --keystore (or set {KEYSTORE_ENV}), or use --dev-account N on a local Anvil"
)


class ReadOnlySigner:
    """No account at all: reads (calls, logs) work, anything that would sign is refused at once, before
    any gas estimate or RPC, saying how to configure an account. Calls are made from the zero address."""

    def __init__(self, reason: str = "", address: str | None = None):
        """`address`: whom reads and simulations run as (a wallet that signs elsewhere, e.g. the explorer's
        visitor); default the zero address."""
        self._reason = reason or f"no account configured: {NO_ACCOUNT}"
        self._address = to_checksum_address(address or "0x0000000000000000000000000000000000000000")

    @property
    def source(self) -> str:
        return "read-only (no account)"

    @property
    def address(self) -> ChecksumAddress:
        return self._address

    def refuse(self, action: str) -> ChainError:
        return ChainError(f"{action} needs an account, and this client is read-only ({self._reason})")

    def sign_transaction(self, tx: dict[str, Any]) -> bytes:
        raise self.refuse("sending a transaction")

    def sign_typed_data(
        self, domain: dict[str, Any], types: dict[str, Any], message: dict[str, Any]
    ) -> Signature:
        raise self.refuse("signing a message")

    def __repr__(self) -> str:
        return "ReadOnlySigner()" if not int(self._address, 16) else f"ReadOnlySigner({self._address})"


def signer_from_key(private_key: str, source: str = "private key") -> Signer:
    try:
        return LocalSigner(Account.from_key(private_key.strip()), source)
    except (ValueError, TypeError) as exc:
        raise ChainError(f"invalid private key from {source}: expected 32 bytes of hex (0x...)") from exc


def signer_from_env(var: str = PRIVATE_KEY_ENV) -> Signer | None:
    """The signer whose key is in environment variable `var`, or None if it is unset."""
    key = os.environ.get(var)
    return signer_from_key(key, f"${var}") if key else None


def _keystore_password(path: Path) -> str:
    password = os.environ.get(KEYSTORE_PASSWORD_ENV)
    if password is not None:
        return password
    if not sys.stdin.isatty():
        raise ChainError(
            f"keystore {path} needs a password: set {KEYSTORE_PASSWORD_ENV} or run interactively"
        )
    return getpass.getpass(f"password for keystore {path.name}: ")


def signer_from_keystore(path: Path, password: str | None = None) -> Signer:
    """Decrypt an eth-account (web3 secret storage) keystore file."""
    if not path.is_file():
        raise ChainError(f"keystore file {path} does not exist")
    try:
        keyfile = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ChainError(f"keystore {path} is not JSON: expected an encrypted key file") from exc
    secret = password if password is not None else _keystore_password(path)
    try:
        key = Account.decrypt(keyfile, secret)
    except ValueError as exc:
        raise ChainError(f"could not decrypt keystore {path}: wrong password or corrupt file") from exc
    return LocalSigner(Account.from_key(key), f"keystore {path}")


def write_keystore(private_key: str, path: Path, password: str, iterations: int | None = None) -> Path:
    """Encrypt a key into a keystore file (scrypt; `iterations` lowers its cost, for tests only)."""
    keystore = Account.encrypt(HexStr(private_key), password, iterations=iterations)
    return atomic_write(path, json.dumps(keystore), 0o600)


@lru_cache(maxsize=64)
def _dev_account(index: int, mnemonic: str) -> LocalAccount:
    Account.enable_unaudited_hdwallet_features()
    account: LocalAccount = Account.from_mnemonic(mnemonic, account_path=DEV_ACCOUNT_PATH.format(index=index))
    return account


def dev_signer(index: int, mnemonic: str = DEFAULT_MNEMONIC) -> Signer:
    """Anvil's deterministic account `index`: for local chains only, the keys are public knowledge."""
    if index < 0:
        raise ChainError(f"dev account index must be >= 0, got {index}")
    return LocalSigner(_dev_account(index, mnemonic), f"anvil dev account {index}")


def resolve_signer(keystore: Path | None = None, dev_index: int | None = None) -> Signer:
    """The active account: an explicit keystore, then $OPENLEDGER_PRIVATE_KEY, $OPENLEDGER_KEYSTORE,
    then a dev account if asked for."""
    if keystore is not None:
        return signer_from_keystore(keystore)
    from_env = signer_from_env()
    if from_env is not None:
        return from_env
    if os.environ.get(KEYSTORE_ENV):
        return signer_from_keystore(Path(os.environ[KEYSTORE_ENV]))
    if dev_index is not None:
        return dev_signer(dev_index)
    raise ChainError(f"no account: {NO_ACCOUNT}")
