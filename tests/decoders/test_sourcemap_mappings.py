"""Source map ``mappings``: real esbuild maps, and any input without an exception."""

from __future__ import annotations

import json
import subprocess

from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import REPO_ROOT, new_key
from keysentry.decoders.sourcemap_mappings import original_position, relative_to_bundle

ESBUILD = REPO_ROOT / "tests" / "js" / "node_modules" / ".bin" / "esbuild"
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def vlq(value: int) -> str:
    """The spec's encoding, written from the Source Map v3 text (for building inputs)."""
    bits = (-value << 1) | 1 if value < 0 else value << 1
    out = ""
    while True:
        digit, bits = bits & 31, bits >> 5
        out += _B64[digit | (32 if bits else 0)]
        if not bits:
            return out


def test_a_key_esbuild_inlined_maps_to_the_line_that_reads_the_variable(tmp_path):
    key = new_key()
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.js").write_text("// first line\n\nexport const k = process.env.KEY;\n")
    (tmp_path / "src" / "main.js").write_text('import { k } from "./a.js";\nconsole.log(k);\n')
    subprocess.run(
        [str(ESBUILD), "src/main.js", "--bundle", "--minify", "--sourcemap",
         "--outfile=out/app.js", f'--define:process.env.KEY="{key}"'],
        cwd=tmp_path, check=True, capture_output=True,
    )
    bundle = (tmp_path / "out" / "app.js").read_text().splitlines()
    line, text = next((i, t) for i, t in enumerate(bundle, 1) if key in t)
    found = original_position(
        (tmp_path / "out" / "app.js.map").read_text(), line, text.index(key) + 1
    )
    assert found is not None
    assert (found.source, found.line) == ("../src/a.js", 3)
    assert found.content == "export const k = process.env.KEY;"


def test_the_last_segment_at_or_before_the_column_wins():
    mappings = ";" + ",".join(
        [vlq(0) + vlq(0) + vlq(4) + vlq(0), vlq(10) + vlq(1) + vlq(3) + vlq(2)]
    )
    text = json.dumps({"version": 3, "sources": ["a.js", "b.js"], "mappings": mappings})
    assert original_position(text, 2, 5).source == "a.js"  # type: ignore[union-attr]
    found = original_position(text, 2, 11)
    assert found is not None and (found.source, found.line, found.column) == ("b.js", 8, 3)
    assert original_position(text, 1, 1) is None  # no segment on line 1
    assert original_position(text, 9, 1) is None


def test_sources_are_made_relative_to_the_bundle():
    assert relative_to_bundle("maps/app.js.map", "../src/a.js") == "src/a.js"
    assert relative_to_bundle("app.js.map", "../src/a.js") == "../src/a.js"
    assert relative_to_bundle("app.js.map", "webpack://app/./a.js") == "webpack://app/./a.js"


@settings(max_examples=300, deadline=None)
@given(
    mappings=st.text(alphabet=_B64 + ",;!é", max_size=200),
    sources=st.lists(st.one_of(st.text(max_size=5), st.integers()), max_size=3),
    line=st.integers(-3, 12),
    column=st.integers(-3, 40),
)
def test_any_mappings_give_a_position_or_none(mappings, sources, line, column):
    text = json.dumps({"version": 3, "sources": sources, "mappings": mappings,
                       "sourcesContent": ["a\nb"]})
    found = original_position(text, line, column)
    if found is not None:
        assert found.line >= 1 - 2**31 and isinstance(found.source, str)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_text_gives_none_or_a_position(text):
    original_position(text, 1, 1)
