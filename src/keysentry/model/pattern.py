"""Regular expressions compiled when first used.

``re.compile`` runs Python's own pattern compiler: a module that compiles its patterns
when imported makes every start-up pay for patterns only some inputs need (the hook
starts on every commit; docs/performance.md). ``lazy`` returns a stand-in that compiles
on first use and then holds the compiled pattern's methods as its own attributes, so
each later call costs what a compiled pattern's call costs.
"""

from __future__ import annotations

import re
from typing import AnyStr, cast

_METHODS = ("search", "match", "fullmatch", "finditer", "findall", "sub", "subn", "split")


class _Lazy:
    def __init__(self, pattern: str | bytes, flags: int) -> None:
        self._source = (pattern, flags)

    def __getattr__(self, name: str) -> object:  # only until the first use
        compiled = re.compile(*self._source)
        for method in _METHODS:
            setattr(self, method, getattr(compiled, method))
        return getattr(compiled, name)

    def __repr__(self) -> str:
        return f"lazy({self._source[0]!r}, {self._source[1]})"


def lazy(pattern: AnyStr, flags: int = 0) -> re.Pattern[AnyStr]:
    """``re.compile(pattern, flags)``, done the first time the pattern is used."""
    return cast("re.Pattern[AnyStr]", _Lazy(pattern, flags))
