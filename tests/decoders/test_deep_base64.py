"""Issue 12 §3: base64 nested three to six layers deep (and up to the depth limit): found
at every alignment, wherever the key sits in the innermost text, with one ``base64`` per
layer in ``decoded_from``; past the limit said, not decoded; bombs bounded; noise silent."""

from __future__ import annotations

import base64
import json
import subprocess
from itertools import product
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import new_key, run_keysentry
from keysentry import decoders
from keysentry.decoders import base64_layers, find_encoded, shapes
from keysentry.model.key import fingerprint

_ENCODERS = (base64.b64encode, base64.urlsafe_b64encode)
_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_"


def _layers(text: bytes, depth: int, wrap: bool = False) -> bytes:
    """text base64-encoded depth times; with wrap, as base64(1) writes it (76 a line)."""
    for _ in range(depth):
        text = base64.b64encode(text)
        if wrap:
            text = b"\n".join(text[i : i + 76] for i in range(0, len(text), 76)) + b"\n"
    return text


def test_the_written_out_tables_are_the_computed_ones() -> None:
    """The layer-3 needles are shapes.nested_needle of each alignment, and RUN_STARTS are
    the three-character starts of text encoded four times (standard or URL-safe each time,
    any text: the first three characters of base64 depend only on the first three bytes
    encoded) that begin with "V"; five layers or more always begin so."""
    assert [shapes.nested_needle(leads) for leads in decoders.NESTED3] == (
        decoders._NESTED3_NEEDLES
    )
    starts = {bytes(c) for c in product(_ALPHABET, repeat=3)}  # one layer: anything
    by_layers = {}
    for layers in range(2, 6):
        starts = {encode(s)[:3] for s in starts for encode in _ENCODERS}
        by_layers[layers] = starts
    assert sorted(base64_layers.RUN_STARTS) == sorted(s for s in by_layers[4] if s[:1] == b"V")
    assert by_layers[5] <= set(base64_layers.RUN_STARTS)


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=1, max_size=40), st.integers(4, 8))
def test_ascii_text_encoded_four_times_or_more_starts_as_the_table_says(
    text: bytes, depth: int
) -> None:
    text = bytes(b & 0x7F for b in text)
    assert _layers(text, depth)[:3] in base64_layers.RUN_STARTS


CONTEXTS = {  # where the run sits: each format's quoting around it
    "json": ("config.json", '{{"data": "{run}"}}\n'),
    "env": (".env", "SECRET_BLOB={run}\n"),
    "yaml": ("values.yaml", "secret:\n  data: {run}\n"),
    "js": ("config.js", "export const blob = '{run}';\n"),
}


def test_keys_three_to_six_layers_deep_in_real_files(tmp_path: Path) -> None:
    """Each depth 3..6, the key at nine offsets of the innermost JSON (so at every
    alignment of the first layers), in four file formats: one scan finds them all."""
    keys: dict[str, int] = {}
    for depth, offset, context in product(range(3, 7), range(9), sorted(CONTEXTS)):
        key = new_key()
        inner = json.dumps({"n": "x" * offset, "auth": {"token": key}}).encode()
        name, template = CONTEXTS[context]
        case = tmp_path / f"d{depth}-o{offset}-{context}"
        case.mkdir()
        (case / name).write_text(template.format(run=_layers(inner, depth).decode()))
        keys[fingerprint(key)] = depth
    proc = run_keysentry("scan", "--format", "json", str(tmp_path))
    report = json.loads(proc.stdout)
    found = {f["fingerprint"]: f for f in report["findings"]}
    assert set(found) == set(keys) and report["errors"] == []
    for fp, finding in found.items():
        assert finding["decoded_from"] == ["base64"] * keys[fp]
        assert finding["line"] == (2 if finding["path"].endswith(".yaml") else 1)


def test_three_layers_at_every_alignment_inside_other_text(tmp_path: Path) -> None:
    """The 27 alignments of three layers, each layer's run after 0, 1 or 2 bytes of other
    text: found by the layer-3 needles wherever the run starts."""
    keys = []
    for leads in product(range(3), repeat=3):
        key = new_key()
        text = b"=" * leads[0] + key.encode() + b";"
        for lead in leads[1:]:
            text = b"x" * lead + base64.b64encode(text) + b"!"
        run = base64.b64encode(text).decode()
        (tmp_path / f"{''.join(map(str, leads))}.env").write_text(f"BLOB=ab{run}\n")
        keys.append(key)
    found = {f["fingerprint"]: f for f in json.loads(
        run_keysentry("scan", "--format", "json", str(tmp_path)).stdout
    )["findings"]}  # fmt: skip
    assert set(found) == {fingerprint(k) for k in keys}
    assert {tuple(f["decoded_from"]) for f in found.values()} == {("base64",) * 3}


def test_one_value_encoded_n_times_by_the_base64_command(tmp_path: Path) -> None:
    """``echo KEY | base64 | base64 …``: the real coreutils base64, wrapped at 76."""
    keys: dict[str, int] = {}
    for depth in range(3, 7):
        key = new_key()
        text = (key + "\n").encode()
        for _ in range(depth):
            text = subprocess.run(["base64"], input=text, capture_output=True, check=True).stdout
        (tmp_path / f"secret{depth}.txt").write_bytes(b"blob:\n" + text)
        keys[fingerprint(key)] = depth
    report = json.loads(run_keysentry("scan", "--format", "json", str(tmp_path)).stdout)
    got = {f["fingerprint"]: f["decoded_from"] for f in report["findings"]}
    # three layers wrapped over lines: the needles do not follow line breaks (documented);
    # four and more are decoded from the run's start, across its lines
    assert {fp: got[fp] for fp in got} == {
        fp: ["base64"] * depth for fp, depth in keys.items() if fp in got
    }
    assert {keys[fp] for fp in got} >= {4, 5, 6}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    depth=st.integers(3, 6),
    before=st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=30),
    after=st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=30),
    urlsafe=st.booleans(),
    quote=st.sampled_from(['"', "'", "=", ": ", ">"]),
)
def test_any_depth_offset_and_surrounding_text(
    depth: int, before: str, after: str, urlsafe: bool, quote: str
) -> None:
    key = new_key()
    text = f"{before} {key} {after}".encode()
    encode = _ENCODERS[urlsafe]
    for _ in range(depth):
        text = encode(text)
    data = f"const x = 1;\nblob{quote}".encode() + text + b'"\n'
    found = [k for k in find_encoded(data).keys if k.key == key]
    assert [k.chain for k in found] == [("base64",) * depth]
    assert data.index(text) <= found[0].start < found[0].end <= data.index(text) + len(text)


def test_past_the_depth_limit_said_not_decoded(tmp_path: Path) -> None:
    key3, key5, control = new_key(), new_key(), new_key()
    path = tmp_path / "values.yaml"
    path.write_text(
        f"a: {_layers(json.dumps({'k': key3}).encode(), 3).decode()}\n"
        f"b: {_layers(key5.encode(), 5).decode()}\nplain: {control}\n"
    )
    for limit, expected in ((6, {key3, key5, control}), (4, {key3, control}), (2, {control})):
        (tmp_path / ".keysentry.toml").write_text(f"max_decode_depth = {limit}\n")
        proc = run_keysentry("scan", "--format", "json", "values.yaml", cwd=tmp_path)
        report = json.loads(proc.stdout)
        assert {f["fingerprint"] for f in report["findings"]} == {fingerprint(k) for k in expected}
        errors = [e for e in report["errors"] if "max_decode_depth" in e["message"]]
        if limit == 6:
            assert errors == []
        else:
            assert [e["path"] for e in errors] == ["values.yaml"]
            assert f"nested deeper than {limit} level(s)" in errors[0]["message"]
        assert proc.returncode == 1


def test_a_nested_bomb_stays_bounded_and_names_the_path(tmp_path: Path) -> None:
    """Forty layers of a short value, a 6 MB run of five layers, and a run longer than the
    scan window: each ends, past the limit an error names the file, the control is found."""
    control = new_key()
    (tmp_path / "deep.txt").write_bytes(b"x=" + _layers(b"hello world, again", 40) + b"\n")
    (tmp_path / "big.txt").write_bytes(b"x=" + _layers(bytes(range(256)) * 4000, 5) + b"\n")
    (tmp_path / "long.txt").write_bytes(b"x=Vm0w" + b"QUFB" * (3 << 20) + b"\n")
    (tmp_path / "app.py").write_text(f"KEY = '{control}'\n")
    proc = run_keysentry("scan", "--format", "json", str(tmp_path))
    report = json.loads(proc.stdout)
    assert [f["fingerprint"] for f in report["findings"]] == [fingerprint(control)]
    messages = {Path(e["path"]).name: e["message"] for e in report["errors"]}
    assert "nested deeper than 6 level(s)" in messages["deep.txt"]
    assert "longer than the 8 MiB scan window" in messages["long.txt"]
    assert "big.txt" not in messages and proc.returncode == 1


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=0, max_size=600), st.integers(1, 7), st.booleans())
def test_random_base64_noise_raises_no_finding(noise: bytes, depth: int, wrap: bool) -> None:
    run = _layers(noise, depth, wrap)
    found = find_encoded(b"data = '" + run + b"'\n")
    assert found.keys == [] and found.cut_runs == 0
