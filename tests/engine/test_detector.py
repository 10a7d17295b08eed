"""The one definition of a DeepSeek key (issue 2 §1): boundaries, other providers, placeholders.

Every key is built at run time; no key-shaped literal lives in this file.
"""

from __future__ import annotations

import secrets
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import new_key
from keysentry.engine.detector import find_candidates, find_keys_in_text, is_placeholder

PREFIX = "sk" + "-"


def hex_chars(n: int) -> str:
    return secrets.token_hex((n + 1) // 2)[:n]


def found(text: str) -> list[str]:
    return [c.key for c in find_candidates(text.encode("utf-8"))]


# --- tokens that are not a key ------------------------------------------------------------

NOT_A_KEY = {
    "disk- prefix": lambda: "disk-" + hex_chars(32),
    "mask- prefix": lambda: "mask-" + hex_chars(32),
    "task- in a word": lambda: "risk_task-" + hex_chars(32),
    "40 hex": lambda: PREFIX + hex_chars(40),
    "64 hex": lambda: PREFIX + hex_chars(64),
    "33 hex": lambda: PREFIX + hex_chars(33),
    "31 hex": lambda: PREFIX + hex_chars(31),
    "followed by x": lambda: new_key() + "x",
    "followed by xyz": lambda: new_key() + "xyz",
    "followed by upper hex": lambda: new_key() + "F",
    "followed by _": lambda: new_key() + "_suffix",
    "followed by -": lambda: new_key() + "-more",
    "preceded by a letter": lambda: "a" + new_key(),
    "preceded by a digit": lambda: "7" + new_key(),
    "preceded by _": lambda: "_" + new_key(),
    "uppercase hex": lambda: PREFIX + hex_chars(32).upper(),
    "uppercase prefix": lambda: "SK-" + hex_chars(32),
    "bogus \\u escape": lambda: "\\uzzzz" + "ab" + new_key(),
    "bogus \\x escape": lambda: "\\xzz" + new_key(),
    "bogus % escape": lambda: "%zz" + new_key(),
}


@pytest.mark.parametrize("name", sorted(NOT_A_KEY))
def test_longer_tokens_never_match(name: str) -> None:
    text = NOT_A_KEY[name]()
    for wrapped in (text, f'"{text}"', f" {text} ", f"key={text}\n"):
        assert found(wrapped) == [], wrapped


OTHER_PROVIDERS = {
    "OpenAI project key": lambda: PREFIX + "proj-" + hex_chars(32) + "_" + hex_chars(40),
    "OpenAI project key, hex after proj-": lambda: PREFIX + "proj-" + hex_chars(32),
    "OpenAI service account key": lambda: PREFIX + "svcacct-" + hex_chars(32) + "T3Blbk",
    "OpenAI admin key": lambda: PREFIX + "admin-" + hex_chars(32),
    "Anthropic key": lambda: PREFIX + "ant-api03-" + hex_chars(32) + "-" + hex_chars(20),
    "sk- + 48 alphanumerics": lambda: (
        PREFIX + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(48))
    ),
    "sk- + 48, hex first": lambda: PREFIX + hex_chars(32) + "ABCDEFGHIJKLmnop",
    "Stripe live key": lambda: "sk_live_" + hex_chars(32),
    "Stripe test key": lambda: "sk_test_" + hex_chars(32),
}


@pytest.mark.parametrize("name", sorted(OTHER_PROVIDERS))
def test_other_providers_keys_are_not_deepseek_keys(name: str) -> None:
    for _ in range(20):
        token = OTHER_PROVIDERS[name]()
        assert found(f'api_key = "{token}"\n') == [], token


# --- surroundings that are fine -------------------------------------------------------------

SURROUNDINGS = {
    "bare": "{k}",
    "double quotes": '"{k}"',
    "single quotes": "'{k}'",
    "backticks": "`{k}`",
    "assignment": "DEEPSEEK_API_KEY={k}",
    "spaced assignment": "api_key = {k}",
    "colon": "api_key:{k}",
    "yaml": "api_key: {k}",
    "whitespace": " \t{k}\t ",
    "bearer": "Authorization: Bearer {k}",
    "json": '{{"api_key":"{k}"}}',
    "json array": "[{k},{k2}]",
    "xml element": "<apiKey>{k}</apiKey>",
    "xml attribute": '<cfg key="{k}"/>',
    "url query first": "https://x.example/v1?key={k}&model=chat",
    "url query later": "https://x.example/v1?model=chat&key={k}#frag",
    "url query semicolon": "/path;key={k};x=1",
    "line ends lf": "a\n{k}\nb",
    "line ends crlf": "a\r\n{k}\r\nb",
    "line end at eof": "x = {k}",
    "newline escape": '"line\\n{k}\\n"',
    "tab escape": '"\\t{k}"',
    "percent-encoded =": "key%3D{k}%26x%3D1",
    "percent-encoded lowercase": "key%3d{k}",
    "hex escape \\x3d": "key\\x3d{k}",
    "unicode escape \\u003d": "key\\u003d{k}",
    "unicode escape quote": "\\u0022{k}\\u0022",
    "parentheses": "OpenAI(api_key={k})",
    "comma": "a,{k},b",
    "semicolon": "k={k};",
    "pipe": "|{k}|",
    "slash": "/{k}/",
    "dollar": "${k}",
    "multibyte before and after": "ключ：{k}。",
    "nul bytes": "\x00{k}\x00",
}


@pytest.mark.parametrize("name", sorted(SURROUNDINGS))
def test_key_found_in_surroundings(name: str) -> None:
    key, key2 = new_key(), new_key()
    text = SURROUNDINGS[name].format(k=key, k2=key2)
    expected = [key, key2] if "{k2}" in SURROUNDINGS[name] else [key]
    assert found(text) == expected
    start = text.encode().index(key.encode())
    cand = find_candidates(text.encode())[0]
    assert (cand.start, cand.end) == (start, start + len(key))


def test_adjacent_keys_each_found() -> None:
    keys = [new_key() for _ in range(5)]
    assert found(" ".join(keys)) == keys
    assert found("\n".join(keys)) == keys


def test_window_bounds_restrict_start_not_boundary_checks() -> None:
    key = new_key()
    data = ("x" * 10 + " " + key + " ").encode()
    at = data.index(key.encode())
    assert [c.key for c in find_candidates(data, at, at + 1)] == [key]
    assert find_candidates(data, at + 1) == []
    assert find_candidates(data, 0, at) == []
    # the letter before still counts when the window starts at the key
    glued = ("a" + key).encode()
    assert find_candidates(glued, 1) == []


def test_find_keys_in_text_handles_non_ascii() -> None:
    key = new_key()
    assert find_keys_in_text(f"密钥 = '{key}' # 🔑") == [key]


# --- placeholders ---------------------------------------------------------------------------

ISSUE_PLACEHOLDERS = [
    "0" * 32,
    "0123456789abcdef" * 2,
    "abcdef" * 5 + "ab",
    "1234567890abcdef" * 2,
]

OTHER_PLACEHOLDERS = [
    "f" * 32,
    "0" * 31 + "1",
    "deadbeef" * 4,
    "abcd1234" * 4,
    "a1b2c3d4" * 4,
    "12345678" * 4,
    "0123456789abcdeffedcba9876543210",
    "fedcba9876543210" * 2,
    "00112233445566778899aabbccddeeff",
    "11112222333344445555666677778888",
    "aaaaaaaabbbbbbbbccccccccdddddddd",
    "abababababababababababababababab",
    "1234567890" + "{r22}",  # starts like a doc example
    "{r12}" + "00000000" + "{r12}",  # a run of 8 zeros inside
    "{r10}" + "789abcde" + "{r14}",  # a sequential run inside
    "0a0b0c0d0e0f0a0b0c0d0e0f0a0b0c0d",
]

# issue 12 §7: patterned documentation values, each clause of the rule on its own
PATTERNED_PLACEHOLDERS = [
    "a1b2c3d4e5f6" + "{r20}",  # letters and digits woven, ascending
    "{r10}" + "1a2b3c4d5e" + "{r12}",  # the same, digit first, inside the key
    "{r12}" + "78965412369874563214",  # a keypad walk of 20 keys
    "85201236987456321478" + "{r12}",  # around the keypad, through 0
    "3f9a0c71e4b2d865" + "568d2b4e17c0a9f3",  # a hex string that is its own reverse
]


@pytest.mark.parametrize("body", ISSUE_PLACEHOLDERS + OTHER_PLACEHOLDERS + PATTERNED_PLACEHOLDERS)
def test_placeholders_rejected(body: str) -> None:
    body = body.format(
        r10=hex_chars(10),
        r12=hex_chars(12),
        r14=hex_chars(14),
        r16=hex_chars(16),
        r20=hex_chars(20),
        r22=hex_chars(22),
    )
    key = PREFIX + body
    assert len(body) == 32
    assert is_placeholder(key)
    assert found(f'DEEPSEEK_API_KEY="{key}"') == []


def test_placeholder_rule_does_not_hide_a_real_key_beside_it() -> None:
    key = new_key()
    text = f"example: {PREFIX + '0' * 32}\nreal: {key}\n"
    assert found(text) == [key]


# --- property: real random keys are always found --------------------------------------------


def test_ten_thousand_random_keys_all_found() -> None:
    # raw random keys (new_key() never draws one the rule rejects): the rule may reject
    # about one in a few million (a run of eight), never more than one of these 10,000
    keys = ["sk-" + secrets.token_hex(16) for _ in range(10_000)]
    rejected = [k for k in keys if is_placeholder(k)]
    assert len(rejected) <= 1
    blob = "\n".join(f'key{i} = "{k}"' for i, k in enumerate(keys)).encode()
    assert [c.key for c in find_candidates(blob)] == [k for k in keys if k not in rejected]


SEPARATORS = st.sampled_from(
    [
        " ",
        "\n",
        "\r\n",
        "\t",
        '"',
        "'",
        "`",
        "=",
        ":",
        ",",
        ";",
        "&",
        "?",
        "<",
        ">",
        "(",
        ")",
        "[",
        "]",
        "{",
        "}",
        "/",
        "|",
        "\x00",
        "é",
        "%3D",
        "\\n",
        "\\x3d",
        "\\u003d",
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    body=st.binary(min_size=16, max_size=16),
    before=SEPARATORS,
    after=st.sampled_from([" ", "\n", '"', "'", "`", ",", ";", "&", "<", ")", "}", "]", "."]),
)
def test_random_keys_in_random_surroundings(body: bytes, before: str, after: str) -> None:
    key = PREFIX + body.hex()
    if is_placeholder(key):  # hypothesis explores degenerate bodies on purpose
        return
    assert found(f"prefix{before}{key}{after}tail") == [key]


# --- binary data: strings packed back to back -------------------------------------------


def test_binary_data_keys_glued_to_neighbouring_strings_are_found() -> None:
    key = new_key()
    # marshal (.pyc) and SQLite records put the next value's bytes right after the key
    for packed in (
        b"\x00\x00z#" + key.encode() + b"N)\x01\xda\x07API_KEY",
        b"\x00\x03\x0fSdeepseek_key" + key.encode() + b"Zq\x00",
    ):
        assert [c.key for c in find_candidates(packed)] == [key]


def test_binary_data_still_needs_the_hex_run_to_end() -> None:
    for body in (hex_chars(40), hex_chars(64), hex_chars(32) + "0"):
        assert find_candidates(b"\x00\x01" + (PREFIX + body).encode() + b"\x00") == []


def test_text_without_nul_keeps_strict_boundaries() -> None:
    key = new_key()
    assert found("x" * 2000 + "deepseek_key" + key + "N") == []
    assert found("\x00" + "x" * 2000 + "deepseek_key" + key + "N") == []  # NUL far away


def test_keys_among_a_flood_of_prefixes_are_all_found_where_they_are() -> None:
    """A slice dense with ``sk-`` is searched by the regex instead of hit by hit; keys in
    it, on both sides of a slice edge and after it, are still each found once."""
    flood = bytearray(b"sk-" * 200_000)
    keys = [new_key() for _ in range(4)]
    places = [0, (1 << 18) - 10, (1 << 18) + 60, len(flood) - 40]
    for at, key in zip(places, keys, strict=True):
        flood[at : at + 37] = b" " + key.encode() + b" "
    found = find_candidates(bytes(flood))
    assert [(c.start, c.key) for c in found] == [
        (at + 1, k) for at, k in zip(places, keys, strict=True)
    ]
