"""Every explorer page and every wallet action, in headless Chromium against a live Anvil with the demo's
state (tests/explorer/conftest.py), the page's wallet a test EIP-1193 provider signing with Anvil dev
accounts (browser.py). The tests run in file order on one chain state: each builds on the last (a
Datanet created, contributed to, reviewed and published; a paid answer; a claim; a withdrawal).
Screenshots go to $OPENLEDGER_SCREENSHOTS (default: a pytest temporary folder)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from browser import DevWallet, chromium_available, launch, open_page, shot
from paidmodel import CONTRIBUTORS, CURATOR, DATANET_OWNER, MODEL_OWNER, USER

from worker.canonical import canonical_json
from worker.chain.types import ContributionStatus
from worker.storage import compute_cid

if not chromium_available():
    if os.environ.get("OPENLEDGER_REQUIRE_BROWSER"):
        pytest.fail("/usr/bin/chromium is missing: `make setup` installs it (apt-get install chromium)")
    pytest.skip("/usr/bin/chromium is missing (Debian package chromium)", allow_module_level=True)

VALID = b"".join(
    canonical_json(r) + b"\n"
    for r in (
        {"text": "the crew was kind and the seats were wide", "label": "positive"},
        {"text": "lost my bag and nobody answered the phone", "label": "negative"},
        {"text": "on time, clean, and a smooth landing", "label": "positive"},
    )
)
INVALID = (
    b'{"text": "fine", "label": "meh"}\n{"text": "ok"\n{"text": "good", "label": "positive", "lang": "en"}\n'
)


@dataclass
class Browser:
    page: Any
    wallet: DevWallet
    base: str
    screens: Path
    timings: dict[str, float]

    def visit(self, route: str, account: int | None = None, connect: bool = True) -> None:
        """Load the page afresh (the wallet connection is per page load) as dev account `account`."""
        if account is not None:
            self.wallet.use(account)
        self.page.goto("about:blank")
        started = time.perf_counter()
        self.page.goto(self.base + route)
        self.ready()
        self.timings[route] = time.perf_counter() - started
        if connect and account is not None:
            self.page.click("#connect")
            self.page.wait_for_function("() => document.getElementById('who').textContent.startsWith('0x')")

    def follow(self, selector: str) -> None:
        """Click a link to another page and wait for that page (not the one still shown) to be ready."""
        self.page.evaluate("() => { document.getElementById('main').dataset.state = 'navigating'; }")
        self.page.click(selector)
        self.ready()

    def ready(self) -> None:
        self.page.wait_for_selector("main[data-state='ready'], main[data-state='error']", timeout=20_000)
        state = self.page.get_attribute("main", "data-state")
        assert state == "ready", self.page.inner_text("main")

    def act(self, selector: str) -> tuple[str, str]:
        """Click an action and wait for its outcome: (notice kind, notice text)."""
        self.page.evaluate("() => { document.getElementById('notice').dataset.kind = ''; }")
        self.page.click(selector)
        self.page.wait_for_function(
            "() => ['ok', 'error'].includes(document.getElementById('notice').dataset.kind)", timeout=60_000
        )
        kind = self.page.get_attribute("#notice", "data-kind")
        text = self.page.inner_text("#notice")
        self.ready()
        return kind, text

    def text(self, selector: str = "main") -> str:
        return self.page.inner_text(selector)

    def shot(self, name: str) -> None:
        shot(self.page, self.screens, name)


@pytest.fixture(scope="module")
def ui(explorer, tmp_path_factory) -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    screens = Path(os.environ.get("OPENLEDGER_SCREENSHOTS") or tmp_path_factory.mktemp("screens"))
    wallet = DevWallet(explorer.live.chain.w3, USER)
    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = open_page(browser, wallet)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        yield Browser(page, wallet, explorer.url, screens, {})
        browser.close()
    assert errors == []  # no uncaught exception in any page


def test_the_read_pages_show_the_indexed_state(ui, explorer) -> None:
    live = explorer.live
    ui.visit("#/")
    assert "paid-classification" in ui.text("#datanets") and "live" in ui.text("#models")
    assert "1000 OPEN" in ui.text("#workers") and "active" in ui.text("#workers")
    ui.shot("home")
    ui.visit("#/datanets")
    assert ui.page.locator("#datanets tbody tr").count() == 1
    ui.visit("#/models")
    assert "2 OPEN" in ui.text("#models")

    ui.visit("#/datanets/1")
    metadata = ui.text("#metadata")
    assert "CC-BY-4.0" in metadata and "{text, label}" in metadata and "neg, pos" in metadata
    policy = ui.text("#policy")
    assert "10 OPEN" in policy and "3600 s" in policy and "50 %" in policy
    assert live.client(CURATOR).address[:8] in policy
    assert "v1" in ui.text("#versions") and ui.page.locator("#contributions tbody tr").count() == 3
    ui.shot("datanet")

    # The version's manifest: its contributions, records per contribution and contributor, schema, licence.
    ui.follow("#versions a[href='#/datanets/1/versions/1']")
    manifest = ui.text("#manifest")
    assert "matches the chain" in manifest and "every entry is the registry's" in manifest
    assert "CC-BY-4.0" in manifest and "{text, label}" in manifest and "openledger.manifest/1" in manifest
    assert ui.page.locator("#version-contributions tbody tr").count() == 3
    assert "accepted" in ui.text("#version-contributions") and "12" in ui.text("#version-contributions")
    assert ui.page.locator("#version-contributors svg rect").count() >= 1
    assert f"#{live.model_id}" in ui.text("#version")
    ui.shot("version")
    ui.follow("#version-contributions a[href='#/contributions/1']")
    assert "Contribution #1" in ui.text("main")

    ui.visit("#/contributions/1")
    assert "accepted" in ui.text("#contribution") and "12" in ui.text("#contribution")
    assert "#1" in ui.text("#contribution-attribution")

    ui.visit(f"#/models/{live.model_id}")
    assert "yes, job" in ui.text("#model") and "val_accuracy" in ui.text("#metrics")
    timeline = ui.text(f"#job-{live.job_id}")
    for step in ("TrainingRequested", "JobClaimed", "ResultSubmitted", "JobFinalized"):
        assert step in timeline
    assert ui.page.locator("#attribution-contributors svg rect").count() == 3
    assert ui.page.locator("#attribution-contributions svg rect").count() == 3
    assert "record" in ui.text("#evidence") and "contribution #" in ui.text("#evidence")
    ui.shot("model")

    ui.visit("#/epochs")
    assert "finalized" in ui.text("#epochs")
    ui.visit(f"#/epochs/{live.model_id}/0")
    assert ui.page.locator("#amounts tbody tr").count() == 3

    contributor = live.client(CONTRIBUTORS[0]).address
    ui.visit(f"#/account/{contributor}")
    assert "claimable" in ui.text("#earnings") and "0 OPEN" not in ui.text("#claimable")
    assert ui.page.locator("#earnings-chart svg path").count() == 1
    assert ui.page.locator("#shares tbody tr").count() == 1


def test_create_a_datanet_signed_in_the_wallet(ui, explorer) -> None:
    live = explorer.live
    before = ui.wallet.sent()
    ui.visit("#/create", DATANET_OWNER)
    ui.page.fill("#f-name", "airline <b>reviews</b>")  # user content is shown as text, never as markup
    ui.page.fill("#f-curators", live.client(CURATOR).address)
    ui.page.fill("#f-stake", "10")
    kind, text = ui.act("#create")
    assert (kind, text) == ("ok", "created Datanet #2")
    assert ui.wallet.sent() == before + 1
    assert ui.page.url.endswith("#/datanets/2")
    ui.page.wait_for_selector("main h1:has-text('Datanet #2')", timeout=20_000)  # not the form still shown
    ui.ready()
    assert "airline <b>reviews</b>" in ui.text("h1") and ui.page.locator("h1 b").count() == 0
    assert live.client(CURATOR).address[:8] in ui.text("#policy")
    datanet = live.client(0).datanets.get_datanet(2)
    assert datanet.owner == live.client(DATANET_OWNER).address


def test_an_invalid_file_is_refused_line_by_line_before_any_upload_or_gas(ui, explorer) -> None:
    ui.visit("#/datanets/2", CONTRIBUTORS[0])
    before = ui.wallet.sent()
    ui.page.set_input_files(
        "#contribute-file", {"name": "bad.jsonl", "mimeType": "text/plain", "buffer": INVALID}
    )
    kind, text = ui.act("#contribute")
    assert kind == "error" and "3 invalid line(s)" in text and "nothing was uploaded or sent" in text
    errors = ui.text("#validation-errors")
    assert "unknown_label" in errors and "bad_json" in errors and "unknown_field" in errors
    ui.shot("invalid-file")
    assert ui.wallet.sent() == before
    assert not explorer.live.store.has(compute_cid(INVALID))


def test_contribute_review_and_publish(ui, explorer) -> None:
    live = explorer.live
    ui.visit("#/datanets/2", CONTRIBUTORS[0])
    ui.page.set_input_files(
        "#contribute-file", {"name": "mine.jsonl", "mimeType": "text/plain", "buffer": VALID}
    )
    kind, text = ui.act("#contribute")
    assert (kind, text) == ("ok", "contribution #4 submitted (3 records)"), text
    assert "pending" in ui.text("#contributions")
    assert live.client(0).datanets.get_contribution(4).status == ContributionStatus.PENDING
    ui.shot("contributed")

    ui.visit("#/contributions/4", CONTRIBUTORS[1])  # not a curator: refused before the wallet opens
    before = ui.wallet.sent()
    kind, text = ui.act("#accept")
    assert kind == "error" and "is not a curator of datanet 2" in text
    assert ui.wallet.sent() == before

    # A curator's reject loses the race to another curator's accept: the wallet's estimate reverts, and
    # the page explains the contract's custom error.
    ui.visit("#/contributions/4", CURATOR)
    ui.wallet.before_send = lambda _tx: live.client(CURATOR).datanets.review(4, True, "")
    kind, text = ui.act("#reject")
    assert kind == "error" and "already reviewed" in text and "ContributionNotPending" in text, text
    ui.shot("revert-explained")

    ui.visit("#/datanets/2", CONTRIBUTORS[2])
    ui.page.set_input_files("#contribute-file", {"name": "theirs.jsonl", "mimeType": "text/plain",
                                                 "buffer": VALID.replace(b"wide", b"narrow")})  # fmt: skip
    assert ui.act("#contribute")[0] == "ok"
    ui.visit("#/contributions/5", CURATOR)
    ui.page.fill("#review-reason", "a near copy of #4")
    kind, text = ui.act("#reject")
    assert (kind, text) == ("ok", "contribution #5 rejected: 5 OPEN slashed"), text
    assert "a near copy of #4" in ui.text("#reason") and "rejected" in ui.text("#contribution")

    ui.visit("#/datanets/2", DATANET_OWNER)
    kind, text = ui.act("#publish")
    assert kind == "ok" and text.startswith("published version 1"), text
    assert "v1" in ui.text("#versions")
    version = live.client(0).datanets.get_version(2, 1)
    assert version.contribution_count == 1 and version.record_count == 3


def test_pay_for_inference_and_ask(ui, explorer) -> None:
    live = explorer.live
    payments = live.client(0).vault.payment_count()
    ui.visit(f"#/models/{live.model_id}", USER)
    ui.page.fill("#ask-text", "great crew, lovely flight")
    kind, text = ui.act("#ask")
    assert kind == "ok" and "got an answer" in text, text
    answer = ui.text("#answer")
    assert answer.startswith("answer: ") and any(a in answer for a in live.contributor_addresses)
    assert live.client(0).vault.payment_count() == payments + 1
    assert explorer.serving.receipts.find(payments + 1, 0) is not None  # the server answered and logged it
    ui.shot("ask")


def test_claim_and_withdraw(ui, explorer) -> None:
    live = explorer.live
    contributor = live.client(CONTRIBUTORS[0])
    balance = contributor.token.balance_of(contributor.address)
    ui.visit("#/account", CONTRIBUTORS[0])
    kind, text = ui.act("#claim-all")
    assert kind == "ok" and text.startswith("claimed 1 epoch(s)"), text
    assert ui.text("#claimable") == "0 OPEN" and "claimed" in ui.text("#earnings")
    assert contributor.token.balance_of(contributor.address) > balance
    ui.shot("account")

    owner = live.client(MODEL_OWNER)
    owed = owner.vault.credited(owner.address)
    assert owed > 0
    ui.visit("#/account", MODEL_OWNER)
    kind, text = ui.act("#withdraw")
    assert kind == "ok" and text.startswith("withdrew"), text
    assert owner.vault.credited(owner.address) == 0 and ui.text("#withdrawable") == "0 OPEN"
