"""Layers: containers, documents and embedded payloads, opened around the window scanner.

With decoding on (the default), every stream reaches ``scan`` first:

- a container (gzip, brotli, zip family, tar, asar: sniffed from the first bytes)
  is opened and each member is scanned the same way, as ``outer.zip!inner/a.js``,
  up to the nesting and size limits;
- a source map or notebook is scanned and each finding is given the original
  source (``sourcesContent``) or cell it sits in;
- anything else is scanned window by window (engine/window_scanner.py), where the
  decoders look for encoded keys; an inline source map or base64 gzip data they find
  comes back here as a payload, a layer of its own.

Each finding's ``decoded_from`` lists the layers around it, outermost first. Depth and
the decompression budget (one per top-level stream) travel in a ``_Layers`` value.
"""

from __future__ import annotations

import dataclasses
import functools
import io
from dataclasses import dataclass
from typing import BinaryIO

from keysentry import containers, decoders
from keysentry.config import Config
from keysentry.containers.limits import (
    Budget,
    ContainerError,
    LimitedStream,
    LimitReached,
    Limits,
    RatioExceeded,
)
from keysentry.containers.sniff import PeekedStream, sniff
from keysentry.decoders import documents
from keysentry.engine.names import keys_in_name
from keysentry.engine.window_scanner import PayloadHandler, WindowScanner
from keysentry.engine.windows import WINDOW, Window, is_allowed_inline, position
from keysentry.model.finding import Finding
from keysentry.model.key import redact_text
from keysentry.model.report import Report, ScanError
from keysentry.model.target import STREAM_LAYERS, ScanTarget

FIRST_READ = WINDOW  # what a scan window reads first: containers are told by its start


@functools.cache
def _limits_for(depth: int, megabytes: int, ratio: int) -> Limits:
    return Limits(max_depth=depth, max_bytes=megabytes << 20, max_ratio=ratio)


def limits(config: Config) -> Limits:
    return _limits_for(
        config.max_decode_depth, config.max_decompressed_mb, config.max_compression_ratio
    )


def scan(scanner: WindowScanner, stream: BinaryIO, target: ScanTarget) -> list[Finding]:
    """Scan a stream and every layer inside it; one decompression budget for all of them."""
    budget = Budget(limits(scanner.config))
    return _Layers(scanner, budget).layer(stream, target, 0)


def _prefix(found: list[Finding], layer: str) -> list[Finding]:
    for finding in found:
        finding.decoded_from[:0] = [layer]
    return found


@dataclass
class _Layers:
    scanner: WindowScanner
    budget: Budget
    # member names of each tar read, by its path: an image's whiteouts (containers/image.py)
    tar_names: dict[str, list[str]] = dataclasses.field(default_factory=dict)

    def error(self, path: str, message: str) -> None:
        self.scanner.report.errors.append(ScanError(path, message))

    def plain(
        self, stream: BinaryIO, target: ScanTarget, depth: int, head: bytes | None = None
    ) -> list[Finding]:
        """The stream's bytes as they are (``head``: its first FIRST_READ bytes, read)."""
        return self.scanner.scan_windows(stream, target, self.payloads(target, depth), head)

    def layer(
        self,
        stream: BinaryIO,
        target: ScanTarget,
        depth: int,
        named: bool = True,  # False for what a gzip or brotli layer decoded: its name is the file's
        outer: LimitedStream | None = None,  # the decompressed stream this one is
    ) -> list[Finding]:
        path = target.path
        head = stream.read(FIRST_READ)
        kind = sniff(head, path if named else "")
        if kind is None:
            document = documents.kind_of(path) if named else None
            if document is not None:
                return self.document(head, stream, target, document, depth)
            return self.plain(stream, target, depth, head)  # the common case: no re-reading
        stream = PeekedStream(head, stream)  # a container is read from its first byte
        if depth >= self.budget.limits.max_depth:
            self.error(
                path,
                f"{kind} nested deeper than {self.budget.limits.max_depth} levels"
                " (max_decode_depth): its content was not unpacked, only its raw bytes"
                " were scanned",
            )
            return self.plain(stream, target, depth)
        stats = self.scanner.report.stats
        stats[f"containers_{kind}"] += 1
        if kind not in STREAM_LAYERS:
            return self.members(kind, stream, target, depth + 1, outer)
        with containers.STREAM_DECODERS[kind](stream, self.budget) as inner:
            found = _prefix(self.layer(inner, target, depth + 1, False, inner), kind)
        stats["bytes_decompressed"] += inner.produced
        if inner.problem is not None:
            self.error(path, f"{kind}: {inner.problem}")
            if inner.produced == 0 and stream.seekable():  # not compressed after all?
                stream.seek(0)
                found.extend(self.plain(stream, target, depth))
        return found

    def members(
        self,
        kind: str,
        stream: BinaryIO,
        target: ScanTarget,
        depth: int,
        outer: LimitedStream | None = None,
    ) -> list[Finding]:
        from keysentry.containers import image  # with the first container, not at start-up
        from keysentry.containers.tar import tar_members

        report = self.scanner.report
        found: list[Finding] = []
        opened = 0
        names = self.tar_names.setdefault(target.path, []) if kind == "tar" else []
        parts = image.ImageParts() if kind == "tar" else None

        def skipped(name: str, message: str) -> None:
            self.error(target.member(name).path, message)

        try:
            reader = containers.MEMBER_READERS[kind]
            if kind == "tar" and outer is not None:  # a .tgz: each member's ratio is its own
                outer.check_ratio = False
                reader = functools.partial(tar_members, compressed=outer.consumed)
            for member in reader(stream, self.budget.limits, self.budget, skipped):
                opened += 1
                inner = target.member(member.name)
                named = keys_in_name(self.scanner.config, member.name, inner)
                report.findings.extend(named)
                found.extend(_prefix(named, kind))
                for warning in member.warnings:
                    report.stats["archive_member_names_unsafe"] += 1
                    report.notes.append(
                        f"{inner.path}: member name {warning}; nothing is extracted,"
                        " it was scanned in place"
                    )
                names.append(member.name)
                content = member.stream if parts is None else parts.take(member.name, member.stream)
                found.extend(_prefix(self.layer(content, inner, depth), kind))
                report.stats["archive_members_scanned"] += 1
                problem = getattr(member.stream, "problem", None)
                if isinstance(problem, RatioExceeded):  # only this member stops
                    report.stats["archive_members_over_ratio"] += 1
                    self.error(inner.path, f"{problem} (this member only; the next are scanned)")
                    continue
                # past the budget, or inside a broken tar (read front to back), the rest is not
                if isinstance(problem, LimitReached) or (problem and kind == "tar"):
                    self.error(
                        inner.path, f"{problem}; later members of the {kind} were not scanned"
                    )
                    return found
                if problem is not None:
                    self.error(inner.path, str(problem))
        except ContainerError as exc:
            self.error(target.path, f"{kind}: {exc}")
            if opened == 0 and stream.seekable():
                stream.seek(0)  # what is stored uncompressed may still be read
                found.extend(self.plain(stream, target, depth))
        if parts is not None and image.annotate(found, target.path, parts, self.tar_names):
            report.stats["container_images"] += 1
        return found

    def document(
        self, first: bytes, stream: BinaryIO, target: ScanTarget, kind: str, depth: int
    ) -> list[Finding]:
        """A source map or notebook (``first``: its first bytes, read), scanned window by
        window like any file; the blocks read are kept (not copied) up to MAX_DOCUMENT,
        and joined only when a finding is to be given its original source or cell."""
        kept = _KeptBlocks(first, stream, documents.MAX_DOCUMENT)
        found = self.plain(kept, target, depth, first)
        if kept.blocks is None:
            self.scanner.report.notes.append(
                f"{target.path}: larger than {documents.MAX_DOCUMENT >> 20} MiB: findings in it"
                f" do not name the original {'source' if kind == 'sourcemap' else 'cell'}"
            )
        elif found:
            annotate(found, kind, b"".join(kept.blocks))
        return found

    def payloads(self, target: ScanTarget, depth: int) -> PayloadHandler:
        """What the window scanner does with an inline source map or base64 gzip data."""

        def handle(window: Window, payload: decoders.Payload) -> list[Finding]:
            return self.payload(window, payload, target, depth)

        return handle

    def payload(
        self, window: Window, payload: decoders.Payload, target: ScanTarget, depth: int
    ) -> list[Finding]:
        """A payload scanned whole as a layer of its own; findings placed at its start."""
        report = self.scanner.report
        label = "inline source map" if payload.kind == "sourcemap" else "base64 gzip data"
        if payload.problem is not None:
            report.notes.append(
                f"{target.path}: {label} at byte {window.offset + payload.start}"
                f" {payload.problem}: keys in it are still found, without the original"
                " source's name"
            )
            return []
        if depth >= self.budget.limits.max_depth:
            return []  # the base64 decoder still sees keys encoded directly in it
        inner = _Layers(dataclasses.replace(self.scanner, report=Report()), self.budget)
        if payload.kind == "sourcemap":
            found = inner.plain(io.BytesIO(payload.data), target, depth + 1)
            annotate(found, "sourcemap", payload.data)
        else:
            found = inner.layer(io.BytesIO(payload.data), target, depth + 1)
        report.errors.extend(inner.scanner.report.errors)
        report.notes.extend(inner.scanner.report.notes)
        report.stats.update(inner.scanner.report.stats)
        kept = []
        for finding in found:
            offset = finding.offset if payload.kind == "sourcemap" else 0
            pos = payload.start + (offset // 3) * 4
            if is_allowed_inline(window.data, pos, pos + 1):
                report.stats["suppressed_inline"] += 1
                continue
            finding.line, finding.column = position(window, pos)
            finding.offset = window.offset + pos
            finding.decoded_from[:0] = ["base64"]
            kept.append(finding)
        return kept


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
            finding.original_source = redact_text(part.name)  # a map names its own files
            finding.original_line = line
        else:
            finding.notebook_cell = part.notebook_cell
            if not part.name.endswith("output"):
                finding.cell_line = line


class _KeptBlocks(io.RawIOBase):
    """A stream whose blocks, as read, are kept while they add up to at most ``limit``
    bytes (``blocks`` is None past it): a document scanned as it is read, whole in
    memory afterwards only by reference to what was read (no second buffer, no copy)."""

    def __init__(self, first: bytes, stream: BinaryIO, limit: int) -> None:
        self._stream, self._limit, self._size = stream, limit, len(first)
        self.blocks: list[bytes] | None = [first] if self._size <= limit else None

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        block = self._stream.read(size)
        if self.blocks is not None and block:
            self._size += len(block)
            if self._size > self._limit:
                self.blocks = None  # past the limit: the finding names no original part
            else:
                self.blocks.append(block)
        return block
