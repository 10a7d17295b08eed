"""Turns the bytes of a stream, as they are, into findings.

The detector says where keys are; this module says where that is (line and column, via
engine/windows.py), who the key belongs to (attribution), whether it ships to users
(exposure), and applies what the user asked to suppress. Containers and documents are
the layers' work (engine/layers.py), which come here for each layer's plain bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, BinaryIO

from keysentry import decoders
from keysentry.config import Config
from keysentry.engine.detector import (
    DENSE_PREFIXES,
    Candidate,
    candidate_at,
    find_candidates,
)
from keysentry.engine.windows import (
    WINDOW,
    Window,
    char_count,
    is_allowed_inline,
    snippet,
    utf16_column,
    windows,
)
from keysentry.model.finding import Finding
from keysentry.model.key import fingerprint
from keysentry.model.report import Report, ScanError
from keysentry.model.target import ScanTarget

if TYPE_CHECKING:
    from keysentry import exposure

# what the layers do with a payload a window holds (an inline source map, base64 gzip data)
PayloadHandler = Callable[[Window, decoders.Payload], list[Finding]]


@dataclass
class WindowScanner:
    """Scans plain bytes for keys, window by window, adding findings and counts to a report."""

    config: Config
    report: Report = field(default_factory=Report)

    @cached_property
    def judge(self) -> exposure.Judge:
        """Exposure verdicts for this scan (folder lookups cached across files)."""
        from keysentry import exposure  # with the first key: a clean scan never needs it

        return exposure.Judge(self.config)

    def scan_windows(
        self,
        stream: BinaryIO,
        target: ScanTarget,
        on_payload: PayloadHandler | None = None,
        head: bytes | None = None,
    ) -> list[Finding]:
        """The stream's bytes as they are: plain keys, and encoded ones when decoding is on.

        ``on_payload`` is given each embedded payload the decoders find (decoding on);
        ``head`` is the stream's first WINDOW bytes when they were read already."""
        found: list[Finding] = []
        size = 0
        for window in windows(stream, head=head):
            size = window.offset + len(window.data)
            if self.config.decode:  # one pass finds the triggers and the plain keys' starts
                starts: list[int] = []
                encoded = self._find_encoded(window, target, starts)
                candidates = self._plain(window, starts)
            else:
                candidates = find_candidates(window.data, window.accept_from, window.accept_to)
            if candidates:
                found.extend(self.findings_at(window, candidates, target))
            if self.config.decode:
                found.extend(self._encoded(window, encoded, target, on_payload))
        self.report.stats["bytes_scanned"] += size
        self.report.findings.extend(found)
        return found

    @staticmethod
    def _plain(window: Window, starts: list[int]) -> list[Candidate]:
        """The plain keys at the key prefixes the decoders' pass met; past DENSE_PREFIXES of
        them (a flood), the detector's own search, which leaves floods to the regex."""
        data = window.data
        if len(starts) > DENSE_PREFIXES:
            return find_candidates(data, window.accept_from, window.accept_to)
        found = (candidate_at(data, begin) for begin in starts)
        return [candidate for candidate in found if candidate is not None]

    def _find_encoded(
        self, window: Window, target: ScanTarget, starts: list[int]
    ) -> decoders.Encoded:
        """The decoders' pass over one window; where it meets key prefixes goes to
        ``starts`` (up to one more than DENSE_PREFIXES)."""

        def at_prefix(begin: int) -> bool:
            starts.append(begin)
            return len(starts) <= DENSE_PREFIXES

        encoded = decoders.find_encoded(
            window.data,
            window.accept_from,
            window.accept_to,
            max_nesting=self.config.max_decode_depth,
            base=window.offset,
            on_key_prefix=at_prefix,
        )
        if encoded.over_budget:
            self.report.stats["decoder_hits_over_budget"] += encoded.over_budget
            self.report.notes.append(
                f"{target.path}: {encoded.over_budget} encoded-key candidates past the"
                f" decoder budget ({decoders.MAX_DECODES} decodes per decoder and"
                f" {decoders.MAX_PAYLOADS} payloads per {WINDOW >> 20} MiB window)"
                f" from byte {window.offset}"
                " were not decoded; plain keys are all still found"
            )
        if encoded.too_deep:
            self.report.errors.append(
                ScanError(
                    target.path,
                    f"{encoded.too_deep} base64 run(s) nested deeper than"
                    f" {self.config.max_decode_depth} level(s) (max_decode_depth), from byte"
                    f" {window.offset + encoded.too_deep_at}: not decoded",
                )
            )
        if encoded.cut_runs:
            self.report.errors.append(
                ScanError(
                    target.path,
                    f"{encoded.cut_runs} run(s) of base64 layers longer than the"
                    f" {WINDOW >> 20} MiB scan window, from byte"
                    f" {window.offset + encoded.cut_at}: not decoded past the needles'"
                    " three layers",
                )
            )
        return encoded

    def _encoded(
        self,
        window: Window,
        encoded: decoders.Encoded,
        target: ScanTarget,
        on_payload: PayloadHandler | None,
    ) -> Iterator[Finding]:
        """Findings for the keys in encoded form one window holds, and for its payloads."""
        keys = encoded.keys
        if keys:
            self.report.stats["decoded_keys"] += len(keys)
            by_offset = {(window.offset + k.start, k.key): k for k in keys}
            candidates = sorted(
                (Candidate(k.start, k.end, k.key) for k in keys), key=lambda c: c.start
            )
            for finding in self.findings_at(window, candidates, target):
                decoded = by_offset[(finding.offset, finding.secret)]
                finding.snippet = decoded.context
                finding.decoded_from = list(decoded.chain)
                if decoded.unit > 1:
                    finding.column = utf16_column(window, decoded.start)
                yield finding
        if on_payload is not None:
            for payload in encoded.payloads:
                yield from on_payload(window, payload)

    def findings_at(
        self, window: Window, candidates: list[Candidate], target: ScanTarget
    ) -> Iterator[Finding]:
        """A finding for each candidate of the window that no allow rule suppresses."""
        from keysentry import exposure  # here, not above: a clean scan never needs these
        from keysentry.engine import attribution

        data = window.data
        hints = attribution.find_hints(data)
        line, counted_to = window.line, 0
        for cand in candidates:
            line += data.count(b"\n", counted_to, cand.start)
            counted_to = cand.start
            if is_allowed_inline(data, cand.start, cand.end):
                self.report.stats["suppressed_inline"] += 1
                continue
            if self.config.is_allowed(fingerprint(cand.key)):
                self.report.stats["suppressed_allowlist"] += 1
                continue
            newline = data.rfind(b"\n", 0, cand.start)
            column = char_count(data[newline + 1 : cand.start]) + 1
            if newline < 0:
                column += window.column_chars
            who = attribution.attribute(data, cand.start, cand.end, hints)
            seen = self.judge.assess(target.path, data, cand.start, cand.end, target.fs_path)
            yield Finding(
                secret=cand.key,
                path=target.path,
                line=line,
                column=column,
                provider=who.provider,
                confidence=who.confidence,
                provider_evidence=who.evidence,
                snippet=snippet(data, cand.start, cand.end),
                source=target.source,
                offset=window.offset + cand.start,
                exposure=seen.verdict,
                exposure_evidence=list(seen.evidence),
                severity=exposure.severity(seen.verdict, who.confidence, who.provider),
            )
