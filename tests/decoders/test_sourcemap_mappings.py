"""Source map ``mappings``: real esbuild maps, and any input without an exception."""

from __future__ import annotations

import json
import subprocess

from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import REPO_ROOT, new_key
from keysentry.decoders.sourcemap_mappings import original_positions, relative_to_bundle

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
    found = original_positions(
        (tmp_path / "out" / "app.js.map").read_text(), [(line, text.index(key) + 1)]
    )[0]
    assert found is not None
    assert (found.source, found.line) == ("../src/a.js", 3)
    assert found.content == "export const k = process.env.KEY;"


def test_the_last_segment_at_or_before_the_column_wins():
    mappings = ";" + ",".join(
        [vlq(0) + vlq(0) + vlq(4) + vlq(0), vlq(10) + vlq(1) + vlq(3) + vlq(2)]
    )
    text = json.dumps({"version": 3, "sources": ["a.js", "b.js"], "mappings": mappings})
    assert original_positions(text, [(2, 5)])[0].source == "a.js"  # type: ignore[union-attr]
    found = original_positions(text, [(2, 11)])[0]
    assert found is not None and (found.source, found.line, found.column) == ("b.js", 8, 3)
    assert original_positions(text, [(1, 1)])[0] is None  # no segment on line 1
    assert original_positions(text, [(9, 1)])[0] is None


def test_sources_are_made_relative_to_the_bundle():
    assert relative_to_bundle("maps/app.js.map", "../src/a.js") == "src/a.js"
    assert relative_to_bundle("app.js.map", "../src/a.js") == "../src/a.js"
    assert relative_to_bundle("app.js.map", "webpack://app/./a.js") == "webpack://app/./a.js"
    # a map on another origin (a site's CDN): its sources by URL, as a browser resolves them
    cdn_map = "https://cdn.example/assets/app.js.map"
    assert relative_to_bundle(cdn_map, "../src/a.js") == "https://cdn.example/src/a.js"


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
    found = original_positions(text, [(line, column)])[0]
    if found is not None:
        assert found.line >= 1 - 2**31 and isinstance(found.source, str)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_text_gives_none_or_a_position(text):
    original_positions(text, [(1, 1)])[0]


@settings(max_examples=150, deadline=None)
@given(
    segments=st.lists(
        st.lists(st.tuples(*[st.integers(-3, 9)] * 4), max_size=4), min_size=1, max_size=6
    ),
    places=st.lists(st.tuples(st.integers(-1, 7), st.integers(-1, 30)), max_size=6),
)
def test_many_places_in_one_pass_each_get_the_answer_they_get_alone(segments, places):
    """A bundle with several keys: one pass over the map places each key where a pass
    for it alone would (the decoder's running state is shared across places)."""
    mappings = ";".join(",".join("".join(map(vlq, s)) for s in line) for line in segments)
    text = json.dumps({"version": 3, "sources": ["a.js", "b.js", "c.js"], "mappings": mappings,
                       "sourcesContent": ["x\ny\nz", None, "only"]})
    expected = []
    for line, column in places:  # the spec, by hand: deltas summed, gen_col per line
        source = orig_line = orig_col = 0
        best = None
        for index, group in enumerate(segments):
            gen_col = 0
            for d_gen, d_source, d_line, d_col in group:
                gen_col += d_gen
                source, orig_line = source + d_source, orig_line + d_line
                orig_col += d_col
                if index == line - 1 and gen_col <= column - 1:
                    best = (source, orig_line, orig_col)
        if best is None or not 0 <= best[0] < 3:
            expected.append(None)
            continue
        content = ["x\ny\nz", None, "only"][best[0]]
        lines = content.splitlines() if content else []
        expected.append(
            ("abc"[best[0]] + ".js", best[1] + 1, best[2] + 1,
             lines[best[1]] if 0 <= best[1] < len(lines) else None)
        )
    together = original_positions(text, places)
    assert [None if f is None else (f.source, f.line, f.column, f.content) for f in together] \
        == expected
