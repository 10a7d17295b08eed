"""Issue 17 §9: the ratio limit stops only the member that tripped it. A legitimate,
very compressible log inside a .tgz no longer ends the archive, and an overlapping-entry
zip bomb is recognised from its directory before anything is inflated."""

from __future__ import annotations

import io
import json
import struct
import tarfile
import zipfile
from pathlib import Path

from conftest import new_key, run_keysentry
from keysentry.model.key import fingerprint


def _scan(path: Path) -> tuple[int, dict]:
    proc = run_keysentry("scan", "--format", "json", str(path))
    return proc.returncode, json.loads(proc.stdout)


class _Log(io.RawIOBase):
    """A server log of ``size`` bytes made as it is read: it compresses about 300:1."""

    LINE = b"2026-12-01T10:00:00Z INFO request served path=/health status=200 ms=1\n" * 64

    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        count = min(len(buffer), self.left)
        block = (self.LINE * (count // len(self.LINE) + 1))[:count]
        buffer[:count] = block
        self.left -= count
        return count


def test_a_tgz_goes_on_after_a_huge_compressible_log(tmp_path: Path) -> None:
    key, env_key = new_key(), new_key()
    path = tmp_path / "release.tgz"
    with tarfile.open(path, "w:gz") as archive:
        for name, data in (("app/config.js", f"k = '{key}'\n".encode()),):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        log = tarfile.TarInfo("var/log/server.log")
        log.size = 200 << 20
        archive.addfile(log, _Log(log.size))
        env = f"DEEPSEEK_API_KEY={env_key}\n".encode()
        info = tarfile.TarInfo("app/.env")
        info.size = len(env)
        archive.addfile(info, io.BytesIO(env))
    assert (200 << 20) / path.stat().st_size > 250  # the log compresses about 300:1
    code, report = _scan(path)
    assert code == 1
    paths = {f["fingerprint"]: f["path"] for f in report["findings"]}
    assert paths == {
        fingerprint(key): f"{path}!app/config.js",
        fingerprint(env_key): f"{path}!app/.env",
    }
    [error] = report["errors"]
    assert error["path"] == f"{path}!var/log/server.log"
    assert "compression ratio over 100:1" in error["message"]
    assert "corrupt or truncated" not in json.dumps(report["errors"])


def _with_overlapping_entries(data: bytes, name: str, copies: int) -> bytes:
    """The zip with ``copies`` more directory entries sharing ``name``'s compressed data."""
    end = data.rindex(b"PK\x05\x06")
    (cd_size, cd_offset) = struct.unpack("<II", data[end + 12 : end + 20])
    directory = data[cd_offset : cd_offset + cd_size]
    records, pos = [], 0
    while pos < len(directory):
        name_len, extra_len, comment_len = struct.unpack("<HHH", directory[pos + 28 : pos + 34])
        size = 46 + name_len + extra_len + comment_len
        records.append(directory[pos : pos + size])
        pos += size
    [shared] = [r for r in records if r[46:].startswith(name.encode())]
    directory = b"".join(records) + shared * copies
    count = len(records) + copies
    eocd = data[end : end + 8] + struct.pack("<HHII", count, count, len(directory), cd_offset)
    return data[:cd_offset] + directory + eocd + data[end + 20 :]


def test_overlapping_zip_entries_are_reported_cheaply_and_the_rest_is_scanned(
    tmp_path: Path,
) -> None:
    key = new_key()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("zeros.bin", b"\0" * (32 << 20))
        archive.writestr("app.js", f"k = '{key}'\n")
    path = tmp_path / "overlap.zip"
    path.write_bytes(_with_overlapping_entries(buf.getvalue(), "zeros.bin", 2000))
    assert len(zipfile.ZipFile(path).infolist()) == 2002  # zip itself would inflate each
    code, report = _scan(path)
    assert code == 1 and [f["path"] for f in report["findings"]] == [f"{path}!app.js"]
    overlap = [e for e in report["errors"] if "overlap" in e["message"]]
    assert len(overlap) == 1 and "2000 zip entries overlap" in overlap[0]["message"]
    # only the first zeros.bin was inflated (up to the ratio limit), not 2,000 of them
    assert report["stats"]["archive_members_scanned"] == 2
