"""The Datanet journey through the CLI on a real Anvil: create, contribute, review, publish-version, show,
list, export, and the refusals that must happen before anything is uploaded or any gas is spent."""

from __future__ import annotations

import json
import random
import string
from pathlib import Path
from typing import Any

from conftest import OPEN, CliHome

from worker.canonical import canonical_json
from worker.chain.devnet import LocalChain
from worker.chain.types import ContributionStatus, Policy
from worker.datanet.creating import build_metadata, create_datanet
from worker.datanet.versions import load_published_version
from worker.storage import compute_cid

OWNER, CURATOR, CONTRIBUTORS = 1, 2, (3, 4, 5)


def records(seed: int, count: int = 4) -> list[dict[str, str]]:
    """Sentences of random made-up words: no two records are near duplicates of each other."""
    rng = random.Random(seed)
    words = ["".join(rng.choices(string.ascii_lowercase, k=6)) for _ in range(10 * count)]
    return [
        {"text": " ".join(words[10 * i : 10 * i + 10]), "label": rng.choice(["neg", "pos"])}
        for i in range(count)
    ]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_bytes(b"".join(canonical_json(row) + b"\n" for row in rows))
    return path


def new_datanet(devnet: LocalChain, home: CliHome) -> int:
    """A datanet set up through the library (the CLI's own `create` is tested in the round trip)."""
    metadata = build_metadata(name="reviews", task="classification", labels=["neg", "pos"], licence="CC0-1.0")
    curator = devnet.client(CURATOR).address
    policy = Policy(10 * OPEN, 3600, 5_000)
    return create_datanet(devnet.client(OWNER), home.store, metadata, policy, [curator]).datanet_id


def test_version_round_trip(devnet: LocalChain, chain_home: CliHome, tmp_path: Path) -> None:
    curator = devnet.client(CURATOR).address
    created = chain_home.json(
        "datanet",
        "create",
        "--name",
        "reviews",
        "--task",
        "classification",
        "--labels",
        "neg,pos",
        "--licence",
        "CC-BY-4.0",
        "--stake",
        "10",
        "--review-period",
        "1h",
        "--slash-bps",
        "5000",
        "--curator",
        curator,
        "--dev-account",
        OWNER,
    )
    datanet_id = created["datanet_id"]
    files = {index: records(seed=index) for index in CONTRIBUTORS}
    ids = []
    for index, rows in files.items():
        permit = ["--permit"] if index == 4 else []
        path = write_jsonl(tmp_path / f"c{index}.jsonl", rows)
        done = chain_home.json("contribute", datanet_id, path, *permit, "--dev-account", index)
        assert done["ok"] and done["duplicates"] == [] and done["record_count"] == len(rows)
        assert done["contributor"] == devnet.client(index).address
        ids.append(done["contribution_id"])
    for contribution_id in ids:
        review = chain_home.json(
            "review", contribution_id, "accept", "--reason", "clean", "--dev-account", CURATOR
        )
        assert review["accepted"] and review["reason_cid"]
    published = chain_home.json("publish-version", datanet_id, "--dev-account", OWNER)
    assert published["version_id"] == 1 and published["contribution_ids"] == ids

    # Load the version back from chain + store alone: same records, in contribution order, same root.
    client = devnet.client(0)
    version, loaded = load_published_version(client, chain_home.store, datanet_id, 1)
    assert version.merkle_root == published["merkle_root"] == version.manifest.merkle_root()
    assert version.manifest_cid == published["manifest_cid"]
    assert [r.record for r in loaded] == [row for rows in files.values() for row in rows]
    assert [r.contributor for r in loaded[::4]] == [devnet.client(i).address for i in CONTRIBUTORS]

    shown = chain_home.json("datanet", "show", datanet_id)
    assert shown["metadata"]["name"] == "reviews" and shown["metadata"]["labels"] == ["neg", "pos"]
    assert [c["status"] for c in shown["contributions"]] == ["accepted"] * 3
    assert shown["versions"][0]["merkle_root"] == published["merkle_root"]
    listed = chain_home.json("datanet", "list")
    assert {"datanet_id": datanet_id, "name": "reviews"}.items() <= listed[-1].items()

    out = tmp_path / "export"
    exported = chain_home.json("datanet", "export", datanet_id, 1, out)
    assert exported["merkle_root"] == published["merkle_root"] and exported["record_count"] == 12
    for contribution_id, index in zip(ids, CONTRIBUTORS, strict=True):
        exported_file = out / f"contribution-{contribution_id}.jsonl"
        assert exported_file.read_bytes() == (tmp_path / f"c{index}.jsonl").read_bytes()
    assert compute_cid((out / "manifest.json").read_bytes()) == published["manifest_cid"]


def test_malformed_file_is_refused_before_anything_is_spent(
    devnet: LocalChain, chain_home: CliHome, tmp_path: Path
) -> None:
    datanet_id = new_datanet(devnet, chain_home)
    good = records(seed=9, count=2)
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        "\n".join(
            [
                json.dumps(good[0]),
                '{"text": "hi", "label": "meh"}',
                "{not json",
                json.dumps(good[1]),
                '{"text": "no label"}',
                "",
                '{"text": "x", "label": "pos", "lang": "en"}',
            ]
        )
        + "\n"
    )
    contributor = devnet.client(3)
    before = (
        len(chain_home.store.objects_list()),
        contributor.datanets.contribution_count(),
        devnet.w3.eth.get_transaction_count(contributor.address),
    )

    refused = chain_home.run("contribute", datanet_id, bad, "--dev-account", 3, code=1)
    for line, code in ((2, "unknown_label"), (3, "bad_json"), (5, "missing_field"), (7, "unknown_field")):
        assert f"line {line}: " in refused.stderr and f"[{code}]" in refused.stderr
    assert "nothing was uploaded or sent" in refused.stderr
    as_json = chain_home.json("contribute", datanet_id, bad, "--dev-account", 3, code=1)
    assert as_json["stage"] == "validation"
    assert [e["line"] for e in as_json["validation"]["errors"]] == [2, 3, 5, 7]

    after = (
        len(chain_home.store.objects_list()),
        contributor.datanets.contribution_count(),
        devnet.w3.eth.get_transaction_count(contributor.address),
    )
    assert after == before  # no object stored, no contribution, not even an approve transaction
    assert devnet.client(0).datanets.get_datanet(datanet_id).contribution_count == 0


def test_duplicates_of_accepted_records_are_detected(
    devnet: LocalChain, chain_home: CliHome, tmp_path: Path
) -> None:
    datanet_id = new_datanet(devnet, chain_home)
    original = records(seed=1)
    first = chain_home.json(
        "contribute", datanet_id, write_jsonl(tmp_path / "a.jsonl", original), "--dev-account", 3
    )
    chain_home.run("review", first["contribution_id"], "accept", "--dev-account", CURATOR)

    copy = [
        {"text": original[0]["text"].upper() + "!", "label": "pos"},  # exact once normalised
        {"text": original[2]["text"] + " zzzz", "label": "neg"},  # near duplicate
        *records(seed=2, count=2),
    ]  # new
    path = write_jsonl(tmp_path / "b.jsonl", copy)
    count = devnet.client(0).datanets.contribution_count()
    strict = chain_home.json("contribute", datanet_id, path, "--strict", "--dev-account", 4, code=1)
    assert strict["stage"] == "duplicates"
    assert [
        (d["line"], d["kind"], d["contribution_id"], d["matched_record"]) for d in strict["duplicates"]
    ] == [(1, "exact", first["contribution_id"], 1), (2, "near", first["contribution_id"], 3)]
    assert devnet.client(0).datanets.contribution_count() == count  # refused: nothing sent

    warned = chain_home.run("contribute", datanet_id, path, "--dev-account", 4)
    assert "warning: 2 of 4 record(s) repeat records" in warned.stderr
    assert "line 2: near duplicate" in warned.stderr
    assert devnet.client(0).datanets.contribution_count() == count + 1

    again = chain_home.run("contribute", datanet_id, tmp_path / "a.jsonl", "--dev-account", 3, code=1)
    assert f"as contribution #{first['contribution_id']}" in again.stderr  # one's own file, once

    # Someone else's copy of the file is not blocked on-chain (contributions are keyed by contributor
    # and CID, so copying a CID takes nothing from its author), but every line is flagged before gas.
    copied = chain_home.json(
        "contribute", datanet_id, tmp_path / "a.jsonl", "--strict", "--dev-account", 5, code=1
    )
    assert [d["kind"] for d in copied["duplicates"]] == ["exact"] * len(original)


def test_export_refuses_a_corrupt_contribution(
    devnet: LocalChain, chain_home: CliHome, tmp_path: Path
) -> None:
    datanet_id = new_datanet(devnet, chain_home)
    ids = []
    for index in (3, 4):
        path = write_jsonl(tmp_path / f"{index}.jsonl", records(seed=10 + index))
        ids.append(chain_home.json("contribute", datanet_id, path, "--dev-account", index)["contribution_id"])
        chain_home.run("review", ids[-1], "accept", "--dev-account", CURATOR)
    chain_home.run("publish-version", datanet_id, "--dev-account", OWNER)

    victim = devnet.client(0).datanets.get_contribution(ids[1]).content_cid
    (chain_home.store.objects / victim).write_bytes(b'{"text":"tampered","label":"pos"}\n')
    out = tmp_path / "exports" / "v1"
    failed = chain_home.run("datanet", "export", datanet_id, 1, out, code=1)
    assert "CID mismatch" in failed.stderr and victim in failed.stderr
    assert not out.exists()
    assert list((tmp_path / "exports").iterdir()) == []  # no partial folder left behind either


def test_errors_name_the_problem(devnet: LocalChain, chain_home: CliHome, tmp_path: Path) -> None:
    datanet_id = new_datanet(devnet, chain_home)
    unknown = chain_home.run("datanet", "show", 99, code=1)
    assert "datanet 99 does not exist" in unknown.stderr
    path = write_jsonl(tmp_path / "a.jsonl", records(seed=3))
    contribution_id = chain_home.json("contribute", datanet_id, path, "--dev-account", 3)["contribution_id"]
    not_curator = chain_home.run("review", contribution_id, "accept", "--dev-account", 3, code=1)
    assert "is not a curator of datanet" in not_curator.stderr
    assert devnet.client(0).datanets.get_contribution(contribution_id).status == ContributionStatus.PENDING
    nothing = chain_home.run("publish-version", datanet_id, "--dev-account", OWNER, code=1)
    assert "no accepted contribution yet" in nothing.stderr
    not_owner = chain_home.run("publish-version", datanet_id, "--dev-account", CURATOR, code=1)
    assert "does not own datanet" in not_owner.stderr

    [record] = (chain_home.home / "deployments").glob("31337-*.json")
    stale = json.loads(record.read_text())
    stale["addresses"]["DatanetRegistry"] = "0x" + "11" * 20
    record.write_text(json.dumps(stale))
    assert "deployment stale" in chain_home.run("datanet", "list", code=1).stderr
