"""Protocol events as a public API: `follow(handler)` in Python, `openledger watch` on the command line.

Both ride the worker's own reorg-safe follower (worker/daemon/follower.py): `eth_getLogs` over
`[cursor + 1, head - confirmations]`, the cursor and a window of block hashes kept in a small SQLite file
per named cursor, so a watcher stopped in any way resumes where it was, with no gap.

Delivery is at least once, in chain order: the handler runs inside the transaction that moves the cursor,
so a handler that raises (or a process killed mid-batch) gets the whole batch again, and a handler that
must act once keys its effects by `event.id`-like keys (`DecodedEvent.to_json(...)["id"]`: chain, block
hash, log index). After a reorg the follower rewinds to the last block both agree on, calls `on_reorg`
with that block (events above it were on the abandoned branch) and delivers the new branch's events.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from worker.chain.client import ChainClient
from worker.chain.connection import chain_key, genesis_hash
from worker.chain.events import DecodedEvent
from worker.config import load_settings
from worker.daemon.db import Database
from worker.daemon.follower import ChainFollower, FollowerSettings, PollResult
from worker.daemon.settings import default_confirmations
from worker.errors import ChainError, OpenLedgerError

log = logging.getLogger(__name__)

EventHandler = Callable[[DecodedEvent], object]
ReorgHandler = Callable[[int], object]
MAX_BACKOFF_S = 60.0


class WatchError(OpenLedgerError):
    """A watcher cannot go on: unknown event names, or (with `once`) a handler or RPC failure."""


@dataclass(frozen=True)
class WatchSettings:
    """What to follow. `events`: event names (`TrainingRequested`) or `Contract.Event`; empty: all.
    `from_block`: where a new cursor starts (default: the deployment's block; 0 for everything)."""

    events: tuple[str, ...] = ()
    cursor: str = "default"
    confirmations: int | None = None  # None: the chain's default (0 on a local chain, 3 elsewhere)
    from_block: int | None = None
    poll_seconds: float = 2.0
    max_range: int = 2_000


class _HandlerSink:
    """The follower's EventSink: hands wanted events to the handler, reorgs to `on_reorg`."""

    def __init__(self, wanted: Callable[[DecodedEvent], bool], handler: EventHandler, on_reorg: ReorgHandler):
        self.wanted, self.handler, self.on_reorg = wanted, handler, on_reorg
        self.delivered = 0

    def apply(self, db: Any, event: DecodedEvent) -> None:
        if self.wanted(event):
            self.handler(event)
            self.delivered += 1

    def rewind(self, db: Any, fork_block: int) -> None:
        self.on_reorg(fork_block)


def _selector(client: ChainClient, names: Collection[str]) -> Callable[[DecodedEvent], bool]:
    known = client.decoder.event_names()
    if not names:
        return lambda event: True
    plain = {event for _, event in known}
    qualified = {f"{contract}.{event}" for contract, event in known}
    unknown = sorted(n for n in names if n not in plain and n not in qualified)
    if unknown:
        raise WatchError(
            f"no protocol event named {', '.join(unknown)}; known: {', '.join(sorted(plain))} "
            "(or Contract.Event)"
        )
    wanted = frozenset(names)
    return lambda event: event.name in wanted or f"{event.contract}.{event.name}" in wanted


def cursor_path(client: ChainClient, name: str, home: Path | None = None) -> Path:
    """One file per chain (id and genesis) and cursor name: two watchers keep two positions."""
    if not name or not all(c.isalnum() or c in "-_." for c in name) or name.startswith("."):
        raise WatchError(f"cursor name {name!r}: use letters, digits, '-', '_' and '.'")
    base = home or load_settings().home
    return base / "watch" / chain_key(client.sender.chain_id, genesis_hash(client.w3)) / f"{name}.sqlite"


class EventStream:
    """A named cursor over the protocol's events; `poll()` delivers what is new, `run()` keeps at it."""

    def __init__(
        self,
        client: ChainClient,
        handler: EventHandler,
        settings: WatchSettings | None = None,
        *,
        on_reorg: ReorgHandler | None = None,
        home: Path | None = None,
    ):
        self.client, self.settings = client, settings or WatchSettings()
        wanted = _selector(client, self.settings.events)
        self.sink = _HandlerSink(wanted, handler, on_reorg or (lambda _: None))
        self.path = cursor_path(client, self.settings.cursor, home)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = Database(self.path)
        chain_id = client.sender.chain_id
        confirmations = self.settings.confirmations
        start = self.settings.from_block
        self.follower = ChainFollower(
            client.w3,
            client.decoder,
            sorted(client.deployment.addresses.values()),
            self.db,
            self.sink,
            FollowerSettings(
                confirmations=default_confirmations(chain_id) if confirmations is None else confirmations,
                max_range=self.settings.max_range,
                start_block=client.deployment.block_number if start is None else start,
            ),
        )

    def poll(self) -> PollResult:
        """Deliver every event up to `head - confirmations` not delivered yet (a whole batch again if
        the handler raised: nothing is skipped)."""
        return self.follower.poll()

    def run(self, stop: threading.Event | None = None, *, once: bool = False) -> int:
        """Poll until `stop` is set (or, with `once`, until caught up). RPC and webhook failures are
        retried with backoff up to a minute apart (with `once` they raise WatchError); an exception from
        the handler itself stops the watcher, and the next run delivers that batch again. Returns the
        number of events delivered."""
        stop = stop or threading.Event()
        backoff = self.settings.poll_seconds
        while not stop.is_set():
            try:
                result = self.poll()
            except (ChainError, OSError, httpx.HTTPError, WebhookFailed) as exc:
                if once:
                    raise WatchError(f"watch stopped at block {self._position()}: {exc}") from exc
                backoff = min(MAX_BACKOFF_S, max(backoff * 2, 1.0))
                log.warning("watch: %s; retrying in %.0f s from block %s", exc, backoff, self._position())
                stop.wait(backoff)
                continue
            backoff = self.settings.poll_seconds
            if once and result.cursor >= result.target:
                break
            stop.wait(self.settings.poll_seconds)
        return self.sink.delivered

    def _position(self) -> int:
        cursor = self.follower.cursor()
        return cursor.block if cursor else self.follower.settings.start_block - 1

    def close(self) -> None:
        self.db.close()


def follow(
    handler: EventHandler,
    *,
    client: ChainClient | None = None,
    events: Collection[str] = (),
    cursor: str = "default",
    on_reorg: ReorgHandler | None = None,
    confirmations: int | None = None,
    from_block: int | None = None,
    poll_seconds: float = 2.0,
    once: bool = False,
    stop: threading.Event | None = None,
    home: Path | None = None,
) -> int:
    """Call `handler(event)` for each protocol event, in chain order, at least once, resuming from the
    named `cursor`; `on_reorg(fork_block)` when the chain reorganised under delivered events. Blocks
    until `stop` is set (or, with `once`, until caught up with the chain). `client`: default
    `ChainClient.connect()` (read-only unless an account is configured). Returns events delivered."""
    client = client or ChainClient.connect()
    settings = WatchSettings(tuple(events), cursor, confirmations, from_block, poll_seconds)
    stream = EventStream(client, handler, settings, on_reorg=on_reorg, home=home)
    try:
        return stream.run(stop, once=once)
    finally:
        stream.close()


def reorg_notice(chain_id: int, fork_block: int) -> dict[str, Any]:
    """What `watch --json` prints and a webhook receives after a reorg: events above `forkBlock` were
    on the abandoned branch."""
    return {"type": "reorg", "chainId": chain_id, "forkBlock": fork_block}


class WebhookFailed(OpenLedgerError):
    """A webhook did not take an event after every retry: the cursor stays before it."""


@dataclass
class Webhook:
    """A handler that POSTs each event as JSON to `url`, retrying with backoff (network errors, 408,
    429, 5xx); a 2xx is delivery. Other 4xx, or every retry failing, raise WebhookFailed, so the batch is
    delivered again later and nothing is lost. With `secret`, `X-OpenLedger-Signature: sha256=<hex HMAC
    of "<X-OpenLedger-Timestamp>.<body>">` lets the receiver check the sender and refuse a replayed POST
    (an old timestamp); `X-OpenLedger-Event-Id` is for its dedup. Messages name the receiver by scheme
    and host only: a webhook URL's path often carries its token."""

    url: str
    chain_id: int
    secret: str | None = None
    attempts: int = 5
    timeout_s: float = 10.0
    first_delay_s: float = 0.5

    def __post_init__(self) -> None:
        self._http = httpx.Client(timeout=self.timeout_s)

    @property
    def where(self) -> str:
        """The receiver for messages: scheme and host, never the path or query (tokens live there)."""
        parts = httpx.URL(self.url)
        return f"{parts.scheme}://{parts.host}" + (f":{parts.port}" if parts.port else "") + "/…"

    def __call__(self, event: DecodedEvent) -> None:
        self.post(event.to_json(self.chain_id))

    def reorg(self, fork_block: int) -> None:
        self.post(reorg_notice(self.chain_id, fork_block))

    def post(self, payload: dict[str, Any]) -> None:
        body = json.dumps(payload, sort_keys=True).encode()
        headers = {"Content-Type": "application/json"}
        if "id" in payload:
            headers["X-OpenLedger-Event-Id"] = str(payload["id"])
        if self.secret:
            stamp = str(int(time.time()))
            signed = stamp.encode() + b"." + body
            digest = hmac.new(self.secret.encode(), signed, hashlib.sha256).hexdigest()
            headers |= {"X-OpenLedger-Timestamp": stamp, "X-OpenLedger-Signature": f"sha256={digest}"}
        delay, last = self.first_delay_s, "no attempt"
        for attempt in range(1, self.attempts + 1):
            try:
                reply = self._http.post(self.url, content=body, headers=headers)
            except httpx.HTTPError as exc:
                last = type(exc).__name__
            else:
                if reply.is_success:
                    return
                last = f"HTTP {reply.status_code}"
                if reply.status_code < 500 and reply.status_code not in (408, 429):
                    raise WebhookFailed(f"webhook {self.where} refused an event ({last}): fix the receiver")
            if attempt < self.attempts:
                time.sleep(delay)
                delay *= 2
        raise WebhookFailed(f"webhook {self.where} took no event after {self.attempts} attempts ({last})")

    def close(self) -> None:
        self._http.close()
