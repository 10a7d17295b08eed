"""Provider attribution from context anywhere in the file (issue 2 §1)."""

from __future__ import annotations

import base64
import json
import secrets

from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import new_key, run_keysentry
from keysentry.config import Config
from keysentry.engine import attribution
from keysentry.engine.scanner import Scanner
from keysentry.model.finding import Finding
from keysentry.model.key import fingerprint
from keysentry.model.target import ScanTarget


def scan_text(text: str, path: str = "app.py") -> list[Finding]:
    return Scanner(Config()).scan_bytes(text.encode("utf-8"), ScanTarget(path))


def only(findings: list[Finding]) -> Finding:
    assert len(findings) == 1, findings
    return findings[0]


def test_openai_client_with_deepseek_base_url_on_the_same_line() -> None:
    key = new_key()
    f = only(scan_text(f'client = OpenAI(api_key="{key}", base_url="https://api.deepseek.com")\n'))
    assert (f.provider, f.confidence) == ("deepseek", "high")
    assert "deepseek" in f.provider_evidence and "same line" in f.provider_evidence


def test_dotenv_with_deepseek_base_url_on_the_next_line() -> None:
    key = new_key()
    text = f"OPENAI_API_KEY={key}\nOPENAI_BASE_URL=https://api.deepseek.com/v1\n"
    f = only(scan_text(text, ".env"))
    assert (f.provider, f.confidence) == ("deepseek", "high")
    assert "1 line below" in f.provider_evidence


def test_yaml_provider_three_lines_above() -> None:
    key = new_key()
    text = (
        "llm:\n"
        "  provider: deepseek\n"
        "  model: deepseek-chat\n"
        "  temperature: 0.2\n"
        f"  api_key: {key}\n"
    )
    f = only(scan_text(text, "config.yaml"))
    assert (f.provider, f.confidence) == ("deepseek", "high")
    assert "above" in f.provider_evidence


def test_yaml_provider_exactly_three_lines_above() -> None:
    key = new_key()
    text = f"provider: deepseek\nmodel: chat\ntimeout: 30\napi_key: {key}\n"
    f = only(scan_text(text, "settings.yml"))
    assert (f.provider, f.confidence) == ("deepseek", "high")
    assert "3 lines above" in f.provider_evidence


def test_dashscope_context_attributes_to_dashscope_and_says_so() -> None:
    for context in (
        'base_url="https://dashscope.aliyuncs.com/compatible-mode/v1"',
        "DASHSCOPE_API_KEY",
        "model: qwen-max",
        "# Alibaba Cloud Bailian",
        "provider: aliyun",
        "tongyi qianwen",
    ):
        key = new_key()
        f = only(scan_text(f'{context}\napi_key = "{key}"\n'))
        assert (f.provider, f.confidence) == ("dashscope", "high"), context
        assert "DashScope" in f.provider_evidence, context


def test_no_context_still_reported_as_unknown_low() -> None:
    key = new_key()
    f = only(scan_text(f'API_KEY = "{key}"\n'))
    assert (f.provider, f.confidence) == ("unknown", "low")
    assert "DeepSeek-shaped" in f.provider_evidence


def test_far_context_gives_medium_confidence() -> None:
    key = new_key()
    filler = "".join(f"line_{i} = {i}\n" for i in range(200))
    text = f"# talks to https://api.deepseek.com\n{filler}TOKEN = '{key}'\n"
    f = only(scan_text(text))
    assert (f.provider, f.confidence) == ("deepseek", "medium")
    assert "elsewhere in the file" in f.provider_evidence


def test_far_context_after_the_key_counts_too() -> None:
    key = new_key()
    filler = "x = 1\n" * 300
    f = only(scan_text(f"TOKEN = '{key}'\n{filler}# model: qwen-turbo\n"))
    assert (f.provider, f.confidence) == ("dashscope", "medium")


def test_conflicting_context_near_the_key_picks_the_nearest_with_medium() -> None:
    key = new_key()
    text = f"# we tried dashscope first\nDEEPSEEK_API_KEY = '{key}'\n"
    f = only(scan_text(text))
    assert (f.provider, f.confidence) == ("deepseek", "medium")
    assert "both DeepSeek and DashScope" in f.provider_evidence


def test_conflicting_context_far_away_is_low() -> None:
    key = new_key()
    filler = "pass\n" * 400
    text = f"# deepseek\n{filler}TOKEN = '{key}'\n{filler}# dashscope and qwen\n{filler}"
    f = only(scan_text(text))
    assert f.confidence == "low"
    assert f.provider in ("deepseek", "dashscope")
    assert "both DeepSeek and DashScope" in f.provider_evidence


def test_two_keys_two_providers_in_one_file() -> None:
    ds, qw = new_key(), new_key()
    filler = "# ----\n" * 50
    text = (
        f"deepseek:\n  base_url: https://api.deepseek.com\n  api_key: {ds}\n{filler}"
        f"qwen:\n  base_url: https://dashscope.aliyuncs.com\n  api_key: {qw}\n"
    )
    by_key = {f.secret: f for f in scan_text(text, "providers.yaml")}
    assert by_key[ds].provider == "deepseek"
    assert by_key[qw].provider == "dashscope"
    assert by_key[ds].confidence == by_key[qw].confidence == "high"


def test_attribution_reaches_the_json_report(tmp_path) -> None:
    key = new_key()
    (tmp_path / ".env").write_text(
        f"OPENAI_API_KEY={key}\nOPENAI_BASE_URL=https://api.deepseek.com/v1\n"
    )
    result = run_keysentry("scan", "--format", "json", str(tmp_path))
    assert result.returncode == 1, result.stderr
    (finding,) = json.loads(result.stdout)["findings"]
    assert finding["provider"] == "deepseek"
    assert finding["confidence"] == "high"
    assert "deepseek" in finding["provider_evidence"]


def test_short_words_inside_base64_are_not_provider_hints() -> None:
    key = new_key()
    # random base64 of this size holds "qwen"/"aliyun"-like runs by chance; plant some
    # (+ and / swapped for letters: a chance "/qwen" would rightly count as a word start)
    blob = base64.b64encode(secrets.token_bytes(300_000)).decode()
    blob = "A" + blob.replace("+", "p").replace("/", "s")
    blob = blob[:1000] + "xQwEnz" + blob[1000:2000] + "9aliyunA" + blob[2000:]
    text = f'const font = "data:font/woff2;base64,{blob}";\nconst k = "{key}";\n'
    f = only(scan_text(text, "bundle.js"))
    assert (f.provider, f.confidence) == ("unknown", "low")


def test_short_words_at_a_word_start_still_count() -> None:
    key = new_key()
    f = only(scan_text(f'model = "qwen2.5-72b"\napi_key = "{key}"\n'))
    assert f.provider == "dashscope"
    f = only(scan_text(f'llm = ChatModel(model="Qwen/Qwen2-7B")\nKEY = "{key}"\n'))
    assert f.provider == "dashscope"


def test_many_keys_each_with_a_provider_word_scan_in_linear_time(tmp_path) -> None:
    """Issue 17 §2: 26,000 keys with a provider word on each line (quadratic before)."""
    keys = [new_key() for _ in range(26_000)]
    lines = [f'{"deepseek" if i % 2 else "qwen"}_key_{i} = "{key}"' for i, key in enumerate(keys)]
    (tmp_path / "keys.py").write_text("\n".join(lines) + "\n")
    control = new_key()
    (tmp_path / "zz.env").write_text(f"TOKEN={control}\n")
    # the timeout is a hang guard (this took over five minutes), not a timing test
    result = run_keysentry("scan", "-f", "json", str(tmp_path), timeout=120)
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["stats"]["findings"] == 26_001
    found = {f["fingerprint"]: f for f in report["findings"]}
    assert fingerprint(control) in found
    assert all(found[fingerprint(key)]["provider"] != "unknown" for key in keys)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["deepseek", "qwen", "pad"]), st.integers(0, 40)), max_size=30
    ),
    st.integers(0, 40),
)
def test_bisected_attribution_matches_every_mention_measured(layout, key_at) -> None:
    """The nearest mention found by bisection is the one measuring every mention gives."""
    parts = [f"{word}{'.' * gap}" for word, gap in layout]
    parts.insert(min(key_at, len(parts)), f" {new_key()} ")
    data = "\n".join(parts).encode()
    start = data.index(b"sk-")
    end = start + 35
    hints = attribution.find_hints(data)
    if not hints:
        return
    expected = min(hints.hints, key=lambda h: min(abs(h.offset - start), abs(h.offset - end)))
    assert hints.nearest(start, end) == expected
    near = [h for h in hints.hints if min(abs(h.offset - start), abs(h.offset - end)) <= 1024]
    assert set(hints.around(start, end)) >= set(near)
