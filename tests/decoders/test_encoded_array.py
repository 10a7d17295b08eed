"""Issue 12 gap 3: javascript-obfuscator's string array with ``--string-array-encoding
base64`` and ``rc4`` (alone and with ``--split-strings``, rotation, shuffling and
wrappers of variable and function type), made by the real obfuscator from tests/js at run
time, decoded statically (decoders/encoded_array.py, wrapper_calls.py): found at the
call's line, ``decoded_from`` naming the steps. The decoders are fuzzed with hypothesis
(random arrays, calls, wrappers and bytes)."""

from __future__ import annotations

import base64
import json
import re
import secrets
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import REPO_ROOT, new_key, run_keysentry
from keysentry.decoders import (
    array_rotation,
    calls_transform,
    encoded_array,
    find_encoded,
    string_array,
    wrapper_calls,
)
from keysentry.engine.detector import find_candidates
from keysentry.model.key import fingerprint

OBFUSCATOR = REPO_ROOT / "tests" / "js" / "node_modules" / ".bin" / "javascript-obfuscator"
CASES = {
    "base64": ["--string-array-encoding", "base64"],
    "rc4": ["--string-array-encoding", "rc4"],
    "base64-split": ["--string-array-encoding", "base64", "--split-strings", "true"],
    "rc4-split": ["--string-array-encoding", "rc4", "--split-strings", "true"],
    "rc4-split-rotate-shuffle-wrappers": [
        "--string-array-encoding", "rc4", "--split-strings", "true",
        "--string-array-rotate", "true", "--string-array-shuffle", "true",
        "--string-array-wrappers-count", "2",
    ],
    "base64-split-rotate-shuffle-wrappers": [
        "--string-array-encoding", "base64", "--split-strings", "true",
        "--string-array-rotate", "true", "--string-array-shuffle", "true",
        "--string-array-wrappers-count", "2",
    ],
}  # fmt: skip
# --string-array-wrappers-type function: wrappers forward to the accessor with index offsets
# and reordered (and padded) parameters, the rc4 key among them (decoders/wrapper_calls.py)


def _function_case(encoding: str, count: int, split: bool, moved: bool, *more: str) -> list[str]:
    flags = {"split-strings": split, "string-array-rotate": moved, "string-array-shuffle": moved}
    options = ["--string-array-encoding", encoding, "--string-array-wrappers-count", str(count)]
    options += ["--string-array-wrappers-type", "function"]
    for name, value in flags.items():
        options += [f"--{name}", str(value).lower()]
    return options + list(more)


FUNCTION_CASES = {
    f"{encoding}-{count}{'-split' * split}{'-rotate-shuffle' * moved}": _function_case(
        encoding, count, split, moved
    )
    for encoding in ("base64", "rc4")
    for count in (1, 2)
    for split in (False, True)
    for moved in (False, True)
}
_MORE_PARAMETERS = ("--string-array-wrappers-parameters-max-count", "4")
_STRING_INDEXES = ("--string-array-indexes-type", "hexadecimal-numeric-string,hexadecimal-number")
for _encoding in ("base64", "rc4"):
    FUNCTION_CASES[f"{_encoding}-4-parameters-string-indexes"] = _function_case(
        _encoding, 2, True, True, *_MORE_PARAMETERS, *_STRING_INDEXES
    )
STEPS = {"base64": ["string-array", "base64"], "rc4": ["string-array", "base64", "rc4"]}


def _obfuscate(tmp_path: Path, source: str, options: list[str]) -> Path:
    entry, out = tmp_path / "in.js", tmp_path / "app.min.js"
    entry.write_text(source)
    subprocess.run(
        [str(OBFUSCATOR), str(entry), "--output", str(out), "--compact", "false",
         "--string-array", "true", "--string-array-threshold", "1",
         "--split-strings-chunk-length", "5", *options],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return out


@pytest.mark.parametrize("case", sorted(CASES))
def test_encoded_string_array_of_the_real_obfuscator(case: str, tmp_path: Path) -> None:
    key = new_key()
    source = f"const client = {{ apiKey: '{key}', base: 'https://api.example.com' }};\n"
    source += "console.log(client.base, ['alpha', 'beta']);\n"
    out = _obfuscate(tmp_path, source, CASES[case])
    text = out.read_text()
    assert key not in text
    proc = run_keysentry("scan", "--format", "json", str(out))
    assert proc.returncode == 1, proc.stderr
    [finding] = json.loads(proc.stdout)["findings"]
    assert finding["fingerprint"] == fingerprint(key)
    steps = STEPS["rc4" if case.startswith("rc4") else "base64"]
    line = text.splitlines()[finding["line"] - 1][finding["column"] - 1 :]
    split = "split" in case
    assert finding["decoded_from"] == steps + (["concat"] if split else [])
    assert line.startswith(("a0_0x", "_0x"))  # at the call (or its chain)
    assert key not in proc.stdout


def _three_keys_module(keys: list[str]) -> str:
    return (
        f"const client = {{ apiKey: '{keys[0]}', base: 'https://api.example.com' }};\n"
        f"function headers() {{ return {{ Authorization: 'Bearer ' + '{keys[1]}' }}; }}\n"
        f'const fallback = "{keys[2]}";\nconsole.log(client.base, headers(), fallback);\n'
    )


@pytest.mark.parametrize("case", sorted(FUNCTION_CASES))
def test_function_wrappers_of_the_real_obfuscator(case: str, tmp_path: Path) -> None:
    """Every key is read through the function wrappers (in the module's scope and in a
    function's): found at its call, the steps named, whatever the rotation."""
    keys = [new_key() for _ in range(3)]
    out = _obfuscate(tmp_path, _three_keys_module(keys), FUNCTION_CASES[case])
    text = out.read_text()
    assert "return a0_0x" in text and not any(key in text for key in keys)
    proc = run_keysentry("scan", "--format", "json", str(out))
    assert proc.returncode == 1, proc.stderr
    findings = json.loads(proc.stdout)["findings"]
    assert sorted(f["fingerprint"] for f in findings) == sorted(map(fingerprint, keys))
    steps = STEPS["rc4" if case.startswith("rc4") else "base64"]
    lines = text.splitlines()
    for finding in findings:
        assert finding["decoded_from"][: len(steps)] == steps
        at = lines[finding["line"] - 1][finding["column"] - 1 :]
        assert at.startswith(("a0_0x", "_0x"))  # at the (wrapper's) call
    assert not any(key in proc.stdout for key in keys)


def test_a_wrapper_call_is_resolved_hop_by_hop() -> None:
    """Offsets add up through nested wrappers, the parameters' order is followed, and a
    call whose index is not a number (or wrappers that call each other) reads nothing."""
    data = (
        b"function outer(a,b){return acc(a- -0x10,b);}"
        b"function inner(c,d,e){return outer(e-0x5,c);}"
        b"function loop1(a,b){return loop2(a,b);}function loop2(a,b){return loop1(a,b);}"
    )
    known = wrapper_calls.wrappers(data)
    assert wrapper_calls.resolve(b"inner('k@y',0x1,0x20)", known) == wrapper_calls.Call(
        0x2B, "k@y"
    )  # fmt: skip
    assert wrapper_calls.resolve(b"inner(0x1,0x2,-'0x20')", known) == wrapper_calls.Call(
        -0x15, None
    )  # fmt: skip
    assert wrapper_calls.resolve(b"inner(0x1,0x2,'text')", known) is None
    assert wrapper_calls.resolve(b"loop1(0x1,'key')", known) is None
    assert wrapper_calls.resolve(b"acc(0x3,'key')", known) == wrapper_calls.Call(3, "key")
    assert wrapper_calls.resolve(b"acc(0x3,0x4)", known) is None  # not the accessor's shape


_JS_BITS = st.sampled_from(
    [b"function ", b"w(", b"a", b",", b"b", b")", b"{return ", b"acc", b"- -0x10", b"-0x3",
     b"'k@y'", b"'0x1f'", b"}", b";", b"+", b" ", b"(", b"0x7", b"\n"]
)  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    bits=st.lists(_JS_BITS, max_size=120),
    noise=st.binary(max_size=200),
    cut=st.integers(0, 4000),
)
def test_fuzz_wrapper_calls(bits: list[bytes], noise: bytes, cut: int) -> None:
    """Random and truncated wrappers and calls: parsing finishes, resolves to numbers or
    nothing, and a key elsewhere in the chunk is still found."""
    key = new_key()
    body = b"".join(bits) + noise
    data = body[:cut] + f"\nconst k = '{key}';\n".encode() + body[cut:]
    known = wrapper_calls.wrappers(data)
    for wrapper in known.values():
        assert wrapper.forwards
    for match in re.finditer(wrapper_calls.CALL, data):
        call = wrapper_calls.resolve(match[0], known)
        assert call is None or isinstance(call.index, int)
    assert encoded_array.find_keys(data + string_array.ENCODED_ALPHABET) is not None
    assert key in [c.key for c in find_candidates(data)]


def test_a_wrong_rotation_is_never_reported(tmp_path: Path) -> None:
    """A key only counts when a rotation decrypts the calls to text: the array of another
    program with the same calls gives nothing."""
    key = new_key()
    out = _obfuscate(tmp_path, f"const k = '{key}';\nconsole.log(k);\n", CASES["rc4"])
    text = out.read_bytes()
    assert [k.key for k in find_encoded(text).keys] == [key]
    other = _obfuscate(tmp_path, "const k = 'nothing here';\nconsole.log(k);\n", CASES["rc4"])
    assert find_encoded(other.read_bytes()).keys == []


def _obfuscator_b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode().rstrip("=").swapcase()


_ITEMS = st.lists(
    st.one_of(st.text(max_size=12), st.builds(_obfuscator_b64, st.text(max_size=12))),
    max_size=20,
)
_CALLS = st.lists(
    st.tuples(st.integers(0, 0x200), st.none() | st.text("abcdefXYZ0@%", min_size=1, max_size=4)),
    max_size=10,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items=_ITEMS, calls=_CALLS, noise=st.binary(max_size=64), offset=st.integers(0, 0x200))
def test_fuzz_arrays_and_calls(items: list[str], calls: list, noise: bytes, offset: int) -> None:
    key = new_key()
    array = ",".join(
        "'" + i.replace("'", "").replace("\\", "").replace("\n", "") + "'" for i in items
    )
    call = "+".join(f"f(0x{i:x}" + (f",'{k}')" if k else ")") for i, k in calls) or "f(0x1)"
    data = (
        (
            f"function a(){{const b=[{array}];a=function(){{return b;}};return a();}}"
            f"function f(c,d){{c=c-0x{offset:x};const e={string_array.ENCODED_ALPHABET.decode()};}}"
            f"var x={call};\n"
        ).encode()
        + noise
        + f"\nplain = '{key}'\n".encode()
    )
    found = find_encoded(data)
    assert all(0 <= k.start < k.end <= len(data) for k in found.keys)
    assert encoded_array.find_keys(data[: len(data) // 2]) is not None  # cut short: no error
    assert key in [c.key for c in find_candidates(data)]


def _loop(expression: str, target: int) -> bytes:
    return (
        "(function(a,b){const f=g,c=a();while(!![]){try{const d="
        f"{expression};if(d===b)break;else c['push'](c['shift']());}}catch(e){{c['push']"
        f"(c['shift']());}}}}}}(h,0x{target:x}));"
    ).encode()


def test_the_rotation_is_read_from_the_checksum() -> None:
    items: list[str | None] = ["5", "7x", "11"]
    data = _loop("parseInt(f(0x0))*0x2+parseInt(f(0x1))", 25)  # 7 * 2 + 11: rotated by one
    slot = array_rotation.rotation(data, items, {0})
    assert slot is not None and slot(0) == 1
    assert array_rotation.rotation(_loop("parseInt(f(0x0))", 99), items, {0}) is None


@settings(max_examples=300, deadline=None)
@given(expression=st.text("parseInt(f0x1239)+-*/ ", max_size=80), target=st.integers(0, 1 << 20))
def test_fuzz_checksum_expressions(expression: str, target: int) -> None:
    items: list[str | None] = ["12", "abc", None, "-4"]
    slot = array_rotation.rotation(_loop(expression, target), items, {0, 1})
    assert slot is None or 0 <= slot(7) < len(items)


def test_a_long_run_of_name_characters_is_read_once(tmp_path: Path) -> None:
    """The call, chain and offset patterns start only where a name starts: tried inside
    a run of name characters too, 40 KB of them took 9-14 s in an obfuscated chunk
    (quadratic), so 1 MB would run for hours; now the scan ends (the hang guard is far
    above its time) and the key beside the run is found."""
    key = new_key()
    run = b"a" * (1 << 20)
    chunk = (
        b"function a(){const b=['x'];a=function(){return b;};return a();}"
        + string_array.ENCODED_ALPHABET
        + b"c['push'](c['shift']());const d=['s', 'k'];"
        + run
        + f"\nconst k = '{key}';\n".encode()
    )
    path = tmp_path / "app.min.js"
    path.write_bytes(chunk)
    proc = run_keysentry("scan", "--format", "json", str(path), timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert [f["fingerprint"] for f in json.loads(proc.stdout)["findings"]] == [fingerprint(key)]


# --string-array-calls-transform: call arguments moved into objects of each scope
# (decoders/calls_transform.py)
CALLS_TRANSFORM_CASES = {
    f"{encoding}-{kind}{'-split' * split}": [
        "--string-array-encoding", encoding, "--split-strings", str(split).lower(),
        "--string-array-wrappers-count", "2", "--string-array-wrappers-type", kind,
        "--string-array-rotate", "true", "--string-array-shuffle", "true",
        "--string-array-calls-transform", "true",
        "--string-array-calls-transform-threshold", "1",
    ]
    for encoding in ("base64", "rc4")
    for kind in ("variable", "function")
    for split in (False, True)
}  # fmt: skip
CALLS_TRANSFORM_CASES["rc4-mangled-names"] = [
    *CALLS_TRANSFORM_CASES["rc4-function"], "--identifier-names-generator", "mangled",
]  # fmt: skip


@pytest.mark.parametrize("case", sorted(CALLS_TRANSFORM_CASES))
def test_calls_transform_of_the_real_obfuscator(case: str, tmp_path: Path) -> None:
    """The obfuscator's own output (generated here, at a random seed): every key found at
    its call, through the objects each scope holds (mangled names repeat across scopes)."""
    keys = [new_key() for _ in range(3)]
    seed = ["--seed", str(secrets.randbelow(10**6))]
    out = _obfuscate(tmp_path, _three_keys_module(keys), [*CALLS_TRANSFORM_CASES[case], *seed])
    text = out.read_text()
    assert not any(key in text for key in keys)
    # the option's objects (``const o = { _0x1a2b: 0x3ad }``, ``{ a: 0x29f }`` mangled) and
    # a read of one: as an argument, negated or in arithmetic (``f(x - -o._0x1a2b)``)
    objects = re.findall(r"const ([\w$]+) = \{\s*([\w$]+):", text)
    read = any(f"{name}.{prop}" in text for name, prop in objects)
    assert read, "no object is read: the option did nothing"
    proc = run_keysentry("scan", "--format", "json", str(out))
    findings = json.loads(proc.stdout)["findings"]
    assert sorted(f["fingerprint"] for f in findings) == sorted(map(fingerprint, keys)), seed
    steps = STEPS["rc4" if case.startswith("rc4") else "base64"]
    lines = text.splitlines()
    for finding in findings:
        assert finding["decoded_from"][: len(steps)] == steps
        at = lines[finding["line"] - 1][finding["column"] - 1 :]
        assert re.match(r"[\w$]+\(", at), at[:40]  # at the call


def test_an_object_is_read_in_its_own_scope() -> None:
    """Two functions declare an object of the same name with other values; a block inside
    one declares it again; a scope that declares none keeps its reference as written."""
    data = (
        b"function a(){const o={_k:0x1,_s:'x'};f(o._k,o['_s']);"
        b"if(c){const o={_k:0x3};f(o._k);}f(o._k);}"
        b"function b(){const o={_k:0x2};return f(o._k);}"
        b"function c(){return f(o._k);}"
    )
    inlined = calls_transform.inline(data)
    assert inlined.data == (
        b"function a(){const o={_k:0x1,_s:'x'};f(0x1,'x');"
        b"if(c){const o={_k:0x3};f(0x3);}f(0x1);}"
        b"function b(){const o={_k:0x2};return f(0x2);}"
        b"function c(){return f(o._k);}"
    )
    for needle in (b"function b", b"function c", b"f(o._k);}"):
        assert inlined.original(inlined.data.rindex(needle)) == data.rindex(needle)


_OBJECT_BITS = st.sampled_from(
    [b"{", b"}", b"const o={_a:0x1,_b:'k'};", b"let p = {_c: -0x2f};", b"o._a", b"o['_b']",
     b"p._c", b"f(o._a,o._b)", b"'}'", b'"{"', b"`{`", b"o.", b"={_0x", b"o['", b"\\'"]
)  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    chunk=st.tuples(st.lists(_OBJECT_BITS, max_size=80), st.binary(max_size=100)),
    cut=st.integers(0, 2000),
)
def test_fuzz_calls_transform(chunk: tuple[list[bytes], bytes], cut: int) -> None:
    """Random, unbalanced and truncated objects and references: inlining finishes, maps
    every offset into the chunk, and a key elsewhere is still found."""
    key = new_key()
    data = b"".join(chunk[0])[:cut] + f"\nk = '{key}';\n".encode() + chunk[1]
    inlined = calls_transform.inline(data)
    assert all(0 <= inlined.original(i) <= len(data) for i in range(0, len(inlined.data), 7))
    assert key in [c.key for c in find_candidates(inlined.data)]
    assert encoded_array.find_keys(data + string_array.ENCODED_ALPHABET) is not None
