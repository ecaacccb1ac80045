"""Validation of a contributed JSON Lines file: every bad line is reported with its number and the reason.

Line numbers are 1-based as in an editor; line 0 means the file as a whole (too large, no records).
Blank lines are skipped; a UTF-8 byte order mark on the first line is tolerated (editors add it).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from worker.data.dedup import exact_key
from worker.data.schema import RecordError, RecordLimits, RecordSchema, record_text
from worker.errors import DataError

BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class LineError:
    line: int
    code: str
    message: str

    def render(self) -> str:
        where = f"line {self.line}" if self.line else "file"
        return f"{where}: {self.message} [{self.code}]"


@dataclass
class ValidationReport:
    """`records` are the valid records (in file order) and `record_lines` their line numbers."""

    source: str
    size_bytes: int
    records: list[dict[str, str]] = field(default_factory=list)
    record_lines: list[int] = field(default_factory=list)
    errors: list[LineError] = field(default_factory=list)
    lines: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.records)

    def summary(self) -> str:
        total = len(self.records) + sum(1 for e in self.errors if e.line)
        verdict = "OK" if self.ok else f"{len(self.errors)} error(s)"
        return (f"{self.source}: {verdict}; {len(self.records)} of {total} record(s) valid, "
                f"{self.size_bytes} bytes")

    def render(self, max_errors: int = 20) -> str:
        """Text for the CLI: the summary, then the first `max_errors` errors."""
        out = [self.summary()]
        out += [f"  {error.render()}" for error in self.errors[:max_errors]]
        if len(self.errors) > max_errors:
            out.append(f"  ... and {len(self.errors) - max_errors} more error(s)")
        return "\n".join(out)

    def to_dict(self) -> dict[str, Any]:
        """For `--json` output."""
        return {
            "source": self.source, "ok": self.ok, "size_bytes": self.size_bytes,
            "records": len(self.records), "lines": self.lines,
            "errors": [{"line": e.line, "code": e.code, "message": e.message} for e in self.errors],
        }


def iter_lines(data: bytes) -> Iterator[tuple[int, bytes]]:
    """(line number, raw line) for each non-blank line, without line endings (LF or CRLF)."""
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if number == 1 and raw.startswith(BOM):
            raw = raw[len(BOM):]
        raw = raw.removesuffix(b"\r")
        if raw.strip():
            yield number, raw


def parse_line(raw: bytes) -> Any:
    """Decode one line as UTF-8 JSON; RecordError (invalid_utf8 / bad_json / invalid_unicode) otherwise."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RecordError("invalid_utf8", f"invalid UTF-8 at byte {exc.start + 1} of the line; "
                                          "save the file as UTF-8") from exc
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RecordError("bad_json", f"not valid JSON: {exc.msg} (column {exc.colno})") from exc
    # A lone "\ud800" escape is valid JSON but not text: canonical JSON (and so every hash and CID of a
    # version holding it) could not be written, and the version could be neither trained nor verified.
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise RecordError(
            "invalid_unicode",
            "a \\uD800-\\uDFFF escape without its pair is not a character; write the character itself "
            "or its full surrogate pair",
        ) from None
    return value


def validate_jsonl(data: bytes, schema: RecordSchema, limits: RecordLimits | None = None,
                   source: str = "<data>") -> ValidationReport:
    limits = limits or RecordLimits()
    report = ValidationReport(source=source, size_bytes=len(data))
    if len(data) > limits.max_file_bytes:
        report.errors.append(LineError(0, "file_too_large", f"file is {len(data)} bytes, the limit is "
                                       f"{limits.max_file_bytes}: split it into several contributions"))
        return report
    report.lines = data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
    seen: dict[str, int] = {}
    count = 0
    for number, raw in iter_lines(data):
        count += 1
        if count > limits.max_records:
            report.errors.append(LineError(number, "too_many_records", f"more than {limits.max_records} "
                                           "records: split the file into several contributions"))
            break
        _check_line(report, schema, limits, seen, number, raw)
    if count == 0:
        report.errors.append(LineError(0, "no_records", "the file holds no records"))
    return report


def _check_line(report: ValidationReport, schema: RecordSchema, limits: RecordLimits,
                seen: dict[str, int], number: int, raw: bytes) -> None:
    try:
        record = schema.check(parse_line(raw), limits)
    except RecordError as exc:
        report.errors.append(LineError(number, exc.code, exc.message))
        return
    key = exact_key(record_text(record))
    first = seen.setdefault(key, number)
    if first != number:
        report.errors.append(LineError(number, "duplicate", f"duplicate of line {first} (same text once "
                                       "case, spacing and punctuation are ignored)"))
        return
    report.records.append(record)
    report.record_lines.append(number)


def validate_file(path: str | os.PathLike[str], schema: RecordSchema,
                  limits: RecordLimits | None = None) -> ValidationReport:
    """Validate a file on disk; a file over the size limit is rejected without being read."""
    limits = limits or RecordLimits()
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > limits.max_file_bytes:
            report = ValidationReport(source=str(path), size_bytes=size)
            report.errors.append(LineError(0, "file_too_large", f"file is {size} bytes, the limit is "
                                           f"{limits.max_file_bytes}: split it into several contributions"))
            return report
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}") from exc
    return validate_jsonl(data, schema, limits, source=str(path))
