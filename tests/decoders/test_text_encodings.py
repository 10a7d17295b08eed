"""Issue 12 §1 and §3: keys in UTF-16 text (files and runs inside binaries), as hex text,
and base64 inside base64: found at the right line and column, with ``decoded_from``."""

from __future__ import annotations

import base64
import json
import secrets
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import new_key, run_keysentry
from keysentry.decoders import find_encoded
from keysentry.model.key import fingerprint


def _scan(path: Path) -> list[dict]:
    proc = run_keysentry("scan", "--format", "json", str(path))
    assert proc.returncode == 1, proc.stderr
    return json.loads(proc.stdout)["findings"]


def _one(path: Path, key: str) -> dict:
    [finding] = _scan(path)
    assert finding["fingerprint"] == fingerprint(key)
    assert key not in json.dumps(finding)
    return finding


POWERSHELL = (
    "# deploy.ps1\r\n$env:Path += ';C:\\tools'\r\n"
    '$headers = @{{ Authorization = "Bearer {key}" }}\r\n'
)


@pytest.mark.parametrize(
    ("codec", "bom", "chain"),
    [
        ("utf-16-le", b"\xff\xfe", "utf-16le"),  # Windows PowerShell's default
        ("utf-16-le", b"", "utf-16le"),
        ("utf-16-be", b"\xfe\xff", "utf-16be"),
        ("utf-16-be", b"", "utf-16be"),
    ],
)
def test_utf16_text_at_its_line_and_column(
    codec: str, bom: bytes, chain: str, tmp_path: Path
) -> None:
    key = new_key()
    text = POWERSHELL.format(key=key)
    path = tmp_path / "deploy.ps1"
    path.write_bytes(bom + text.encode(codec))
    finding = _one(path, key)
    line = text.splitlines()[2]
    assert (finding["line"], finding["column"]) == (3, line.index("sk-") + 1)
    assert finding["decoded_from"] == [chain]
    assert "Bearer sk-" in finding["snippet"]


def test_registry_export_and_a_utf16_run_inside_a_binary(tmp_path: Path) -> None:
    reg_key, bin_key = new_key(), new_key()
    reg = (
        "Windows Registry Editor Version 5.00\r\n\r\n[HKEY_CURRENT_USER\\Software\\App]\r\n"
        f'"ApiKey"="{reg_key}"\r\n'
    )
    (tmp_path / "app.reg").write_bytes(b"\xff\xfe" + reg.encode("utf-16-le"))
    string_pool = "".join(f"\x06{s}" for s in ("Title", bin_key, "OK")).encode("utf-16-le")
    blob = secrets.token_bytes(4000) + b"\0\0" + string_pool + secrets.token_bytes(4000)
    (tmp_path / "app.exe").write_bytes(blob)
    reg_finding = _one(tmp_path / "app.reg", reg_key)
    assert (reg_finding["line"], reg_finding["column"]) == (4, len('"ApiKey"="') + 1)
    assert _one(tmp_path / "app.exe", bin_key)["decoded_from"] == ["utf-16le"]


@pytest.mark.parametrize(
    "render",
    [
        lambda b: b.hex(),
        lambda b: b.hex().upper(),
        lambda b: " ".join(f"{c:02x}" for c in b),
        lambda b: ", ".join(f"0x{c:02x}" for c in b),
        lambda b: ":".join(f"{c:02X}" for c in b),
    ],
    ids=["plain", "upper", "spaced", "c-array", "colons"],
)
def test_hex_text_of_a_key(render, tmp_path: Path) -> None:
    key = new_key()
    source = f'package main\n\nvar token, _ = hex.DecodeString("{render(key.encode())}")\n'
    (tmp_path / "main.go").write_text(source)
    finding = _one(tmp_path / "main.go", key)
    assert (finding["line"], finding["decoded_from"]) == (3, ["hex"])
    assert finding["column"] == source.splitlines()[2].index('"') + 2


def test_hex_of_a_longer_string_or_a_placeholder_is_not_a_key() -> None:
    key = new_key()
    assert find_encoded((key + "a").encode().hex().encode()).keys == []
    assert find_encoded(("sk-" + "0" * 32).encode().hex().encode()).keys == []
    assert find_encoded(("x" + key).encode().hex().encode()).keys == []
    inside = find_encoded(f"token={key};".encode().hex().encode()).keys
    assert [(k.key, k.start) for k in inside] == [(key, len("token=") * 2)]


CONTEXTS = {  # where nested base64 sits: each format's quoting around the run
    "json": ("config.json", '{{"data": "{run}"}}\n'),
    "env": (".env", "SECRET_BLOB={run}\n"),
    "yaml": ("values.yaml", "secret:\n  data: {run}\n"),
    "js": ("config.js", "export const blob = '{run}';\n"),
}


def test_the_written_out_nested_needles_are_the_computed_ones() -> None:
    """The needle table is written out (start-up time); it must be what shapes computes, or
    an alignment would silently stop being found."""
    from keysentry import decoders
    from keysentry.decoders import shapes

    assert [shapes.nested_needle(leads) for leads in decoders.NESTED] == decoders._NESTED_NEEDLES


def test_the_pass_order_finds_what_the_table_order_finds() -> None:
    """The needles are handed to the pass in a tuned order (decoders._PASS_ORDER): it holds
    every needle once, none is a prefix of another (so no two can match at one byte and
    the order cannot change which one wins), and on text holding every needle, each twice
    and overlapping its neighbours, the hits are those of a pass in the table's order."""
    import ahocorasick_rs

    from keysentry import decoders

    table = list(decoders._NEEDLES)
    assert sorted(decoders._PASS_ORDER) == sorted(table) and len(set(table)) == len(table)
    assert not [(a, b) for a in table for b in table if a != b and b.startswith(a)]
    text = b"".join(a + b + a[:2] for a in table for b in table[:5]) + b"".join(table[::-1])
    kind = ahocorasick_rs.MatchKind.LeftmostFirst
    in_table_order = ahocorasick_rs.BytesAhoCorasick(table, matchkind=kind)
    expected = [(table[i], at) for i, at, _ in in_table_order.find_matches_as_indexes(text)]
    hits = [(decoders.TRIGGERS[i], at) for i, at, _ in decoders._hits(text, 0, len(text))]
    assert hits == expected and len(hits) > 2 * len(table)


@pytest.mark.parametrize("context", sorted(CONTEXTS))
def test_base64_inside_base64_at_every_alignment(tmp_path: Path, context: str) -> None:
    """Gap 1: the key at each byte offset of the inner run's 3-byte group, the inner run at
    each offset of the outer's, padded or not: all nine pairs, in four file formats."""
    name, template = CONTEXTS[context]
    keys = []
    for inner_lead in range(3):
        for outer_lead in range(3):
            for padded in (True, False):
                key = new_key()
                inner = base64.b64encode(b"=" * inner_lead + key.encode() + b";")
                outer = base64.b64encode(b"x" * outer_lead + inner + b"!")
                run = (outer if padded else outer.rstrip(b"=")).decode()
                case = tmp_path / f"i{inner_lead}-o{outer_lead}-{'pad' if padded else 'bare'}"
                case.mkdir()
                (case / name).write_text(template.format(run=run))
                keys.append(key)
    found = {f["fingerprint"]: f for f in _scan(tmp_path)}
    assert set(found) == {fingerprint(k) for k in keys}
    for finding in found.values():
        assert finding["decoded_from"] == ["base64", "base64"]
        assert finding["path"].endswith("/" + name)
        assert finding["line"] == (2 if context == "yaml" else 1)


def test_base64_inside_base64_up_to_the_depth_limit(tmp_path: Path) -> None:
    depth = 2  # the targeted needles reach two layers (docs/decoders.md)
    key, control = new_key(), new_key()
    payload = json.dumps({"auth": {"token": key}}).encode()
    for _ in range(depth):
        payload = base64.b64encode(payload)
    path = tmp_path / "values.yaml"
    path.write_text(f"secret:\n  data: {payload.decode()}\nplain: {control}\n")
    finding = {f["fingerprint"]: f for f in _scan(path)}[fingerprint(key)]
    assert finding["decoded_from"] == ["base64"] * depth
    # placed where the key's encoded form begins, inside the run (as for one layer)
    assert finding["line"] == 2
    assert len("  data: ") < finding["column"] <= len("  data: ") + len(payload) - 40
    (tmp_path / ".keysentry.toml").write_text(f"max_decode_depth = {depth - 1}\n")
    proc = run_keysentry("scan", "--format", "json", "values.yaml", cwd=tmp_path)
    report = json.loads(proc.stdout)
    # past the limit: not decoded, said in an error naming the file; the control key is found
    assert [f["fingerprint"] for f in report["findings"]] == [fingerprint(control)]
    [error] = report["errors"]
    assert error["path"] == "values.yaml"
    assert "nested deeper than 1 level(s) (max_decode_depth)" in error["message"]
    assert proc.returncode == 1


# --- bad input: random and truncated bytes always finish, the control key is found ----------


def _control_found(noise: bytes) -> None:
    key = new_key()
    data = noise + b"\nk = '" + key.encode() + b"'\n" + noise
    found = find_encoded(data)
    assert all(k.start < k.end <= len(data) for k in found.keys)
    from keysentry.engine.detector import find_candidates

    assert key in [c.key for c in find_candidates(data)]


NEEDLES = [
    b"s\0k\0-\0", b"\0s\0k\0-", b"736b2d", b"0x73", b"73 6", b"YzJzd", b"Myc3", b"Ock",
    # split strings and javascript-obfuscator's string array
    b"'sk-", b"'s'", b"'+'", b"' '", b"`sk-${'", b"['", b"','", b"'].join('')",
    b"['push'](", b"['shift']()", b"_0x1=_0x1-0x1;", b"f(0x1)+f(0x2)",
]  # fmt: skip


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parts=st.lists(st.one_of(st.sampled_from(NEEDLES), st.binary(max_size=64)), max_size=40))
def test_fuzz_needles_among_random_bytes(parts: list[bytes]) -> None:
    _control_found(b"".join(parts))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cut=st.integers(1, 200), form=st.sampled_from(["utf16", "hex", "b64b64"]))
def test_fuzz_truncated_encodings_never_give_a_wrong_key(cut: int, form: str) -> None:
    key = new_key()
    raw = f"token={key};".encode()
    whole = {
        "utf16": raw.decode().encode("utf-16-le"),
        "hex": raw.hex().encode(),
        "b64b64": base64.b64encode(base64.b64encode(raw)),
    }[form]
    found = [k.key for k in find_encoded(whole[:cut]).keys]
    assert found in ([], [key])
    assert [k.key for k in find_encoded(whole).keys] == [key]


def _utf16_pool(before: str, key: str) -> bytes:
    return "".join(f"\x06{s}" for s in (before, key, "OK")).encode("utf-16-le")


def test_a_utf16_key_after_a_surrogate_pair_is_found_at_its_place() -> None:
    """An astral character (two UTF-16 units, one character) just before the key: the
    key's place in the decoded text is not its unit count (found missing 1 in 130 random
    binaries, session 4)."""
    key = new_key()
    data = b"\x90" * 64 + _utf16_pool("Title \U0001f600", key)
    [found] = find_encoded(data).keys
    assert (found.key, found.chain) == (key, ("utf-16le",))
    assert data[found.start : found.end] == key.encode("utf-16-le")


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(  # text in UTF-16 (astral characters are surrogate pairs), or any bytes
        st.text(max_size=60).map(lambda t: t.encode("utf-16-le", "surrogatepass")),
        st.binary(max_size=200).map(lambda b: b[: len(b) // 2 * 2]),
    ),
    st.binary(max_size=200),
)
def test_a_utf16_string_pool_key_is_found_whatever_bytes_surround_it(
    prefix: bytes, suffix: bytes
) -> None:
    key = new_key()
    data = prefix + b"\0\0" + _utf16_pool("Title", key) + suffix
    assert key in [k.key for k in find_encoded(data).keys]
