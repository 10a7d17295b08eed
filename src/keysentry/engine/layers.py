"""Decoders and containers wired into the scanner.

Every source (files, stdin, staged blobs, history blobs) reaches the scanner's
``scan_stream``; with decoding on (the default) it comes here first:

- a container (gzip, brotli, zip family, tar, asar: sniffed from the first bytes)
  is opened and each member is scanned the same way, as ``outer.zip!inner/a.js``,
  up to the nesting and size limits;
- a source map or notebook is scanned and each finding is given the original
  source (``sourcesContent``) or cell it sits in;
- anything else is scanned window by window, and in each window the decoders
  look for encoded keys (``window_findings``).

Each finding's ``decoded_from`` lists the layers around it, outermost first.
"""

from __future__ import annotations

import contextvars
import dataclasses
import functools
import io
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, BinaryIO

from keysentry import decoders
from keysentry.containers import archives
from keysentry.decoders import documents
from keysentry.engine.detector import Candidate
from keysentry.model.finding import Finding
from keysentry.model.report import Report, ScanError
from keysentry.model.text import escape_text

if TYPE_CHECKING:
    from keysentry.config import Config
    from keysentry.engine.scanner import Scanner, Window

MAX_ENCODED = decoders.MAX_ENCODED
FIRST_READ = 8 << 20  # what a scan window reads first: containers are told by its start
_DEPTH: contextvars.ContextVar[int] = contextvars.ContextVar("keysentry_decode_depth", default=0)
_BUDGET: contextvars.ContextVar[archives.Budget | None] = contextvars.ContextVar(
    "keysentry_decode_budget", default=None
)


def _limits(config: Config) -> archives.Limits:
    return _limits_for(
        config.max_decode_depth, config.max_decompressed_mb, config.max_compression_ratio
    )


@functools.cache
def _limits_for(depth: int, megabytes: int, ratio: int) -> archives.Limits:
    return archives.Limits(max_depth=depth, max_bytes=megabytes << 20, max_ratio=ratio)


def scan(
    scanner: Scanner,
    stream: BinaryIO,
    path: str,
    source: str,
    extra: dict[str, Any] | None,
    fs_path: str | bytes | None,
) -> list[Finding]:
    """Scan a stream and every layer inside it; one decompression budget per top-level stream."""
    if _BUDGET.get() is not None:
        return _scan_layer(scanner, stream, path, source, extra, fs_path)
    token = _BUDGET.set(archives.Budget(_limits(scanner.config)))
    try:
        return _scan_layer(scanner, stream, path, source, extra, fs_path)
    finally:
        _BUDGET.reset(token)


def _budget() -> archives.Budget:
    budget = _BUDGET.get()
    return budget if budget is not None else archives.Budget(archives.Limits())


def _error(scanner: Scanner, path: str, message: str) -> None:
    scanner.report.errors.append(ScanError(path, message))


def _prefix(found: list[Finding], layer: str) -> list[Finding]:
    for finding in found:
        finding.decoded_from[:0] = [layer]
    return found


def _scan_layer(
    scanner: Scanner,
    stream: BinaryIO,
    path: str,
    source: str,
    extra: dict[str, Any] | None,
    fs_path: str | bytes | None,
    named: bool = True,  # False for what a gzip or brotli layer decoded: its name is the file's
) -> list[Finding]:
    head, stream = archives.peek(stream, FIRST_READ)
    kind = archives.sniff(head, path if named else "")
    if kind is None:
        document = documents.kind_of(path) if named else None
        if document is not None:
            return _scan_document(scanner, stream, path, document, source, extra, fs_path)
        return scanner.scan_windows(stream, path, source, extra, fs_path)
    budget = _budget()
    depth = _DEPTH.get()
    if depth >= budget.limits.max_depth:
        _error(
            scanner,
            path,
            f"{kind} nested deeper than {budget.limits.max_depth} levels (max_decode_depth): "
            "its content was not unpacked, only its raw bytes were scanned",
        )
        return scanner.scan_windows(stream, path, source, extra, fs_path)
    scanner.report.stats[f"containers_{kind}"] += 1
    token = _DEPTH.set(depth + 1)
    try:
        if kind in archives.STREAM_DECODERS:
            with archives.STREAM_DECODERS[kind](stream, budget) as inner:
                found = _scan_layer(scanner, inner, path, source, extra, fs_path, named=False)
            found = _prefix(found, kind)
            scanner.report.stats["bytes_decompressed"] += inner.produced
            if inner.problem is not None:
                _error(scanner, path, f"{kind}: {inner.problem}")
                if inner.produced == 0 and stream.seekable():  # not compressed after all?
                    stream.seek(0)
                    found.extend(scanner.scan_windows(stream, path, source, extra, fs_path))
            return found
        return _scan_members(scanner, kind, stream, path, source, extra, fs_path)
    finally:
        _DEPTH.reset(token)


def _scan_members(
    scanner: Scanner,
    kind: str,
    stream: BinaryIO,
    path: str,
    source: str,
    extra: dict[str, Any] | None,
    fs_path: str | bytes | None,
) -> list[Finding]:
    budget = _budget()
    found: list[Finding] = []
    opened = 0

    def skipped(name: str, message: str) -> None:
        _error(scanner, f"{path}!{escape_text(name)}", message)

    try:
        for member in archives.MEMBER_READERS[kind](stream, budget.limits, budget, skipped):
            opened += 1
            where = f"{path}!{escape_text(member.name)}"
            for warning in member.warnings:
                scanner.report.stats["archive_member_names_unsafe"] += 1
                scanner.report.notes.append(
                    f"{where}: member name {warning}; nothing is extracted, it was scanned in place"
                )
            found.extend(
                _prefix(_scan_layer(scanner, member.stream, where, source, extra, fs_path), kind)
            )
            scanner.report.stats["archive_members_scanned"] += 1
            problem = getattr(member.stream, "problem", None)
            # past a limit, or inside a tar (read front to back), the rest is not scanned
            if isinstance(problem, archives.LimitReached) or (problem and kind == "tar"):
                _error(scanner, where, f"{problem}; later members of the {kind} were not scanned")
                return found
            if problem is not None:
                _error(scanner, where, str(problem))
    except archives.ContainerError as exc:
        _error(scanner, path, f"{kind}: {exc}")
        if opened == 0 and stream.seekable():
            stream.seek(0)  # what is stored uncompressed may still be read
            found.extend(scanner.scan_windows(stream, path, source, extra, fs_path))
    return found


def _scan_document(
    scanner: Scanner,
    stream: BinaryIO,
    path: str,
    kind: str,
    source: str,
    extra: dict[str, Any] | None,
    fs_path: str | bytes | None,
) -> list[Finding]:
    head = stream.read(documents.MAX_DOCUMENT + 1)
    if len(head) > documents.MAX_DOCUMENT:
        scanner.report.notes.append(
            f"{path}: larger than {documents.MAX_DOCUMENT >> 20} MiB: findings in it do not "
            f"name the original {'source' if kind == 'sourcemap' else 'cell'}"
        )
        rest = archives.PeekedStream(head, stream)
        return scanner.scan_windows(rest, path, source, extra, fs_path)
    found = scanner.scan_windows(io.BytesIO(head), path, source, extra, fs_path)
    if found:
        annotate(found, kind, head)
    return found


def annotate(found: list[Finding], kind: str, raw: bytes, base: int = 0) -> None:
    """Name the original source (or cell) of each finding at raw[offset - base]."""
    located = documents.parts(kind, raw)
    if not located:
        return
    for finding in found:
        hit = documents.locate(located, raw, finding.offset - base)
        if hit is None:
            continue
        part, line = hit
        if part.notebook_cell is None:
            finding.original_source = part.name
            finding.extra["original_line"] = line
        else:
            finding.extra["notebook_cell"] = part.notebook_cell
            if not part.name.endswith("output"):
                finding.extra["cell_line"] = line


def _position(window: Window, pos: int) -> tuple[int, int]:
    """Line and column (1-based, in characters) of window.data[pos]."""
    from keysentry.engine.scanner import _chars

    data = window.data
    line = window.line + data.count(b"\n", 0, pos)
    newline = data.rfind(b"\n", 0, pos)
    column = _chars(data[newline + 1 : pos]) + 1
    return line, column + (window.column_chars if newline < 0 else 0)


def window_findings(
    scanner: Scanner,
    window: Window,
    path: str,
    source: str,
    extra: dict[str, Any] | None,
    fs_path: str | bytes | None,
) -> Iterator[Finding]:
    """Keys in encoded form inside one window of plain content."""
    budget = _budget()
    keys, payloads = decoders.find_encoded(
        window.data, window.accept_from, window.accept_to, budget.limits.max_in_memory // 4
    )
    if keys:
        scanner.report.stats["decoded_keys"] += len(keys)
        by_offset = {(window.offset + k.start, k.key): k for k in keys}
        candidates = sorted((Candidate(k.start, k.end, k.key) for k in keys), key=lambda c: c.start)
        for finding in scanner._findings(window, candidates, path, source, extra, fs_path):
            decoded = by_offset[(finding.offset, finding.secret)]
            finding.snippet = decoded.context
            finding.decoded_from = list(decoded.chain)
            yield finding
    for payload in payloads:
        yield from _payload_findings(scanner, window, payload, path, source, extra, fs_path)


def _payload_findings(
    scanner: Scanner,
    window: Window,
    payload: decoders.Payload,
    path: str,
    source: str,
    extra: dict[str, Any] | None,
    fs_path: str | bytes | None,
) -> list[Finding]:
    """An inline source map or a base64 gzip blob, scanned whole as a layer of its own."""
    from keysentry.engine.scanner import is_allowed_inline

    label = "inline source map" if payload.kind == "sourcemap" else "base64 gzip data"
    if payload.problem is not None:
        scanner.report.notes.append(
            f"{path}: {label} at byte {window.offset + payload.start} {payload.problem}: "
            "keys in it are still found, without the original source's name"
        )
        return []
    if _DEPTH.get() >= _budget().limits.max_depth:
        return []  # the base64 decoder still sees keys encoded directly in it
    sub = dataclasses.replace(scanner, report=Report())
    token = _DEPTH.set(_DEPTH.get() + 1)
    try:
        if payload.kind == "sourcemap":
            found = sub.scan_windows(io.BytesIO(payload.data), path, source, extra, fs_path)
            annotate(found, "sourcemap", payload.data)
        else:
            found = _scan_layer(sub, io.BytesIO(payload.data), path, source, extra, fs_path)
    finally:
        _DEPTH.reset(token)
    scanner.report.errors.extend(sub.report.errors)
    scanner.report.notes.extend(sub.report.notes)
    scanner.report.stats.update(sub.report.stats)
    kept = []
    for finding in found:
        inner = finding.offset if payload.kind == "sourcemap" else 0
        pos = payload.start + (inner // 3) * 4
        if is_allowed_inline(window.data, pos, pos + 1):
            scanner.report.stats["suppressed_inline"] += 1
            continue
        finding.line, finding.column = _position(window, pos)
        finding.offset = window.offset + pos
        finding.decoded_from[:0] = ["base64"]
        kept.append(finding)
    return kept
