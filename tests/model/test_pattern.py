"""model/pattern.py: patterns compiled on first use behave as compiled ones, and every
module-level lazy pattern in keysentry is a valid expression (one would otherwise fail
only when some input first needs it)."""

from __future__ import annotations

import importlib
import pkgutil
import re

import keysentry
from keysentry.model.pattern import _Lazy, lazy


def test_a_lazy_pattern_matches_as_the_compiled_one_and_compiles_once():
    text = b"import os\nfrom sys import argv\n"
    source, flags = rb"^(?:from|import)[ \t]+(\w+)", re.MULTILINE
    pattern, compiled = lazy(source, flags), re.compile(source, flags)
    assert "search" not in vars(pattern)  # nothing compiled yet
    assert [m.group(1) for m in pattern.finditer(text)] == [b"os", b"sys"]
    bound = vars(pattern)["search"]
    assert pattern.search(text).span() == compiled.search(text).span()
    assert vars(pattern)["search"] is bound  # the compiled method, kept
    assert pattern.sub(b"-", b"import x") == compiled.sub(b"-", b"import x")
    assert (pattern.pattern, pattern.flags) == (compiled.pattern, compiled.flags)


def test_every_lazy_pattern_in_keysentry_compiles():
    seen = 0
    for info in pkgutil.walk_packages(keysentry.__path__, "keysentry."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if isinstance(value, _Lazy):
                assert isinstance(value.groups, int), f"{info.name}.{name}"  # compiles it
                seen += 1
    assert seen >= 40
