"""The container readers directly: sniffing, stream decoders and member readers within
one budget, and the registry the layers dispatch on."""

from __future__ import annotations

import gzip
import io
import tarfile
import zipfile

import brotli
import pytest

from keysentry.containers import MEMBER_READERS, STREAM_DECODERS
from keysentry.containers.limits import Budget, Limits
from keysentry.containers.sniff import peek, sniff
from keysentry.model.target import MEMBER_LAYERS, STREAM_LAYERS


def members(kind: str, data: bytes, limits: Limits | None = None) -> list[tuple[str, bytes]]:
    limits = limits or Limits()
    skipped: list[tuple[str, str]] = []
    reader = MEMBER_READERS[kind](
        io.BytesIO(data), limits, Budget(limits), lambda n, w: skipped.append((n, w))
    )
    found = [(m.name, m.stream.read()) for m in reader]
    return found + [(f"skipped:{n}", w.encode()) for n, w in skipped]


def test_the_registry_names_are_the_layer_names_findings_carry():
    assert set(MEMBER_READERS) == MEMBER_LAYERS
    assert set(STREAM_DECODERS) == STREAM_LAYERS


@pytest.mark.parametrize(
    ("make", "name", "kind"),
    [
        (lambda: gzip.compress(b"x" * 100), "a.bin", "gzip"),
        (lambda: b"PK\x03\x04" + b"\0" * 100, "a.bin", "zip"),
        (lambda: brotli.compress(b"hello"), "app.js.br", "brotli"),
        (lambda: b"plain text, no container", "notes.txt", None),
    ],
)
def test_sniff_tells_a_container_by_its_first_bytes_or_name(make, name, kind):
    data = make()
    head, stream = peek(io.BytesIO(data))
    assert sniff(head, name) == kind
    assert stream.read() == data  # peeking loses nothing


def test_peek_gives_back_every_byte():
    data = bytes(range(256)) * 10
    head, stream = peek(io.BytesIO(data), 100)
    assert head == data[:100] and stream.read() == data
    head, stream = peek(io.BytesIO(data), 100)
    assert stream.read(40) + stream.read(100) + stream.read(-1) == data


def test_stream_decoders_count_every_byte_against_the_budget():
    data = b"line of text\n" * 10_000
    budget = Budget(Limits())
    with STREAM_DECODERS["gzip"](io.BytesIO(gzip.compress(data)), budget) as stream:
        assert b"".join(iter(lambda: stream.read(4096), b"")) == data
    assert budget.spent == len(data)
    out = STREAM_DECODERS["brotli"](io.BytesIO(brotli.compress(data)), Budget(Limits()))
    got = b"".join(iter(lambda: out.read(65536), b""))
    assert got == data and out.produced == len(data) and out.problem is None
    small = Budget(Limits(max_bytes=1000))
    limited = STREAM_DECODERS["gzip"](io.BytesIO(gzip.compress(data)), small)
    got = b"".join(iter(lambda: limited.read(65536), b""))
    limited.close()
    assert len(got) <= 1000 and limited.problem is not None  # never more than the budget
    assert "max_decompressed_mb" in str(limited.problem)


def test_zip_members_in_order_and_encrypted_ones_skipped():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a/one.js", b"one")
        archive.writestr("dir/", b"")
        archive.writestr("../two.txt", b"two")
    raw = bytearray(buffer.getvalue())
    assert members("zip", bytes(raw)) == [("a/one.js", b"one"), ("../two.txt", b"two")]
    flagged = bytearray(raw)
    flagged[6] |= 1  # the first local header's encryption bit...
    at = flagged.find(b"PK\x01\x02")
    flagged[at + 8] |= 1  # ...and its central directory entry's
    found = members("zip", bytes(flagged))
    assert found[0] == ("../two.txt", b"two")
    assert found[1][0] == "skipped:a/one.js" and b"encrypted" in found[1][1]


def test_tar_members_are_regular_files_read_front_to_back():
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data in (("package/index.js", b"x" * 700), ("package/" + "n" * 120, b"long")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("package/link")
        link.type = tarfile.SYMTYPE
        link.linkname = "index.js"
        archive.addfile(link)
    assert members("tar", buffer.getvalue()) == [
        ("package/index.js", b"x" * 700), ("package/" + "n" * 120, b"long")]


def test_member_names_that_climb_out_carry_a_warning():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("/etc/passwd", b"a")
        archive.writestr("x/../../up", b"b")
    limits = Limits()
    read = MEMBER_READERS["zip"](io.BytesIO(buffer.getvalue()), limits, Budget(limits), print)
    warnings = {m.name: m.warnings for m in read}
    assert warnings == {"/etc/passwd": ["has an absolute path"],
                        "x/../../up": ["climbs out of the archive with '..'"]}
