"""Validation of contributed JSON Lines files: each kind of bad input, with its line number and reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from worker.data import RecordLimits, RecordSchema, validate_file, validate_jsonl
from worker.errors import DataError

CLS = RecordSchema("classification", ("positive", "negative", "neutral"))
GEN = RecordSchema("generation")


def jl(*records: object) -> bytes:
    return b"".join((r if isinstance(r, bytes) else json.dumps(r).encode()) + b"\n" for r in records)


GOOD = {"text": "a fine day", "label": "positive"}


@pytest.mark.parametrize(("bad_line", "code", "reason"), [
    (b'{"text": "x", "label": ', "bad_json", "not valid JSON"),
    (b'["text", "label"]', "not_object", "got an array"),
    (b'"just a string"', "not_object", "got a string"),
    ({"text": "no label"}, "missing_field", "missing field(s) ['label']"),
    ({"text": 42, "label": "positive"}, "wrong_type", "'text' must be a string, got a number"),
    ({"text": "ok", "label": None}, "wrong_type", "'label' must be a string, got null"),
    ({"text": "ok", "label": "positive", "contributor": 7}, "wrong_type", "'contributor' must be a string"),
    ({"text": "ok", "label": "happy"}, "unknown_label", "'happy' is not one of the labels"),
    ({"text": "  \t ", "label": "positive"}, "empty_text", "'text' is empty"),
    ({"text": "x" * 4001, "label": "neutral"}, "too_long", "the limit is 4000"),
    ({"text": "ok", "label": "positive", "score": 1}, "unknown_field", "unknown field(s) ['score']"),
    (b'{"text": "caf\xe9", "label": "positive"}', "invalid_utf8", "invalid UTF-8 at byte 14"),
    # valid JSON, not text: canonical JSON of any version holding it would fail (training, verify)
    (b'{"text": "bad \\ud800 x", "label": "positive"}', "invalid_unicode", "without its pair"),
    ({"text": "A fine   day!", "label": "negative"}, "duplicate", "duplicate of line 1"),
])
def test_each_bad_line_is_reported_with_its_number(bad_line: object, code: str, reason: str) -> None:
    data = jl(GOOD, bad_line, {"text": "another", "label": "neutral"})
    report = validate_jsonl(data, CLS, source="f.jsonl")
    assert not report.ok
    assert [(e.line, e.code) for e in report.errors] == [(2, code)]
    assert reason in report.errors[0].message
    assert report.records == [GOOD, {"text": "another", "label": "neutral"}]
    assert report.record_lines == [1, 3]


def test_all_errors_are_reported_not_just_the_first() -> None:
    report = validate_jsonl(jl(b"nope", GOOD, {"text": "x"}, b"", {"text": "y", "label": "bad"}), CLS)
    assert [(e.line, e.code) for e in report.errors] == [(1, "bad_json"), (3, "missing_field"),
                                                        (5, "unknown_label")]
    assert "3 error(s); 1 of 4 record(s) valid" in report.summary()
    rendered = report.render(max_errors=2)
    assert "line 1: not valid JSON" in rendered and "... and 1 more error(s)" in rendered
    assert report.to_dict()["errors"][2] == {"line": 5, "code": "unknown_label",
                                             "message": report.errors[2].message}


def test_a_full_surrogate_pair_is_text() -> None:
    report = validate_jsonl(b'{"text": "smile \\ud83d\\ude00", "label": "positive"}\n', CLS)
    assert report.ok and report.records == [{"text": "smile \U0001F600", "label": "positive"}]


def test_generation_shapes() -> None:
    ok = validate_jsonl(jl({"prompt": "2+2?", "completion": "4"}, {"text": "free text"},
                           {"text": "by bob", "contributor": "0xbob"}), GEN)
    assert ok.ok and len(ok.records) == 3
    bad = validate_jsonl(jl({"prompt": "p"}, {"prompt": "p", "completion": "c", "text": "t"},
                            {"prompt": "p", "completion": ""}, {"text": "t", "label": "x"}), GEN)
    assert [e.code for e in bad.errors] == ["missing_field", "ambiguous_shape", "empty_text", "unknown_field"]


def test_file_level_limits() -> None:
    limits = RecordLimits(max_file_bytes=1000, max_records=3, max_record_chars=50)
    big = validate_jsonl(b"x" * 1001, CLS, limits)
    assert [(e.line, e.code) for e in big.errors] == [(0, "file_too_large")]
    many = validate_jsonl(jl(*({"text": f"t{i}", "label": "neutral"} for i in range(5))), CLS, limits)
    assert [(e.line, e.code) for e in many.errors] == [(4, "too_many_records")]
    empty = validate_jsonl(b"\n\n", CLS)
    assert [(e.line, e.code) for e in empty.errors] == [(0, "no_records")] and not empty.ok
    long = validate_jsonl(jl({"text": "y" * 45, "label": "positive"}), CLS, limits)  # 45 + 8 chars
    assert [e.code for e in long.errors] == ["too_long"]


def test_bom_crlf_and_blank_lines_are_tolerated() -> None:
    data = b"\xef\xbb\xbf" + json.dumps(GOOD).encode() + b"\r\n\r\n" + json.dumps(
        {"text": "two", "label": "neutral"}).encode()
    report = validate_jsonl(data, CLS)
    assert report.ok and report.record_lines == [1, 3]


def test_validate_file_checks_size_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    path.write_bytes(jl(GOOD) * 100)
    report = validate_file(path, CLS, RecordLimits(max_file_bytes=100))
    assert [e.code for e in report.errors] == ["file_too_large"] and report.source == str(path)
    assert validate_file(path, CLS).errors[0].code == "duplicate"
    with pytest.raises(DataError, match="cannot read"):
        validate_file(tmp_path / "missing.jsonl", CLS)


@pytest.mark.parametrize(("task", "labels", "message"), [
    ("classification", (), "non-empty set"),
    ("classification", ("a", "a"), "unique"),
    ("generation", ("a",), "has no labels"),
    ("regression", (), "unknown task"),
])
def test_bad_schemas_are_refused(task: str, labels: tuple[str, ...], message: str) -> None:
    with pytest.raises(DataError, match=message):
        RecordSchema(task, labels)  # type: ignore[arg-type]


def test_bad_limits_are_refused() -> None:
    with pytest.raises(DataError, match="max_records must be a positive integer"):
        RecordLimits(max_records=0)
