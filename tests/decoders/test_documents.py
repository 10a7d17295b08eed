"""Which original source (or notebook cell) and line a byte of a map or notebook is in,
whatever characters come before it."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from keysentry.decoders import documents

MARK = "KEYSENTRY-MARK"
# ASCII, accents, CJK, an emoji (4 UTF-8 bytes), a JSON escape and a line break
LETTERS = st.sampled_from(["a", "é", "ü", "中", "😀", '"', "\\", "\n", " "])
TEXTS = st.lists(LETTERS, max_size=40).map("".join)


@settings(max_examples=200, deadline=None)
@given(
    sources=st.lists(TEXTS, min_size=1, max_size=12),
    where=st.data(),
    ascii_escaped=st.booleans(),
)
def test_a_position_in_a_map_names_its_source_and_line(sources, where, ascii_escaped):
    index = where.draw(st.integers(0, len(sources) - 1))
    before = where.draw(TEXTS)
    contents = list(sources)
    contents[index] = before + MARK + contents[index]
    source_map = {
        "version": 3,
        "sources": [f"src/{n}.js" for n in range(len(contents))],
        "mappings": "",
        "sourcesContent": contents,
    }
    raw = json.dumps(source_map, ensure_ascii=ascii_escaped).encode()
    parts = documents.parts("sourcemap", raw)
    assert [p.name for p in parts] == source_map["sources"]
    part, line = documents.locate(parts, raw, raw.index(MARK.encode()))
    assert (part.name, line) == (f"src/{index}.js", before.count("\n") + 1)


@settings(max_examples=100, deadline=None)
@given(cells=st.lists(st.tuples(TEXTS, TEXTS), min_size=1, max_size=8), where=st.data())
def test_a_position_in_a_notebook_names_its_cell_and_line(cells, where):
    index = where.draw(st.integers(0, len(cells) - 1))
    in_output = where.draw(st.booleans())
    notebook = {
        "cells": [
            {"cell_type": "code", "source": [code], "outputs": [{"text": [output]}]}
            for code, output in cells
        ]
    }
    code, output = cells[index]
    if in_output:
        notebook["cells"][index]["outputs"][0]["text"] = [output + MARK]
    else:
        notebook["cells"][index]["source"] = [code + MARK]
    raw = json.dumps(notebook, ensure_ascii=False).encode()
    part, line = documents.locate(documents.parts("notebook", raw), raw, raw.index(MARK.encode()))
    assert part.notebook_cell == index + 1
    assert part.name == (f"cell {index + 1} output" if in_output else f"cell {index + 1}")
    if not in_output:
        assert line == code.count("\n") + 1
