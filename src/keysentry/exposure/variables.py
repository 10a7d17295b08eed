"""Public build-time variables: the name a key is assigned to says if bundlers inline it."""

from __future__ import annotations

from keysentry.exposure.signals import Signal, client
from keysentry.model.pattern import lazy

_BUNDLE = "into the browser bundle"
PUBLIC_PREFIXES: dict[str, str] = {
    "VITE_": f"Vite inlines VITE_* variables {_BUNDLE}",
    "NEXT_PUBLIC_": f"Next.js inlines NEXT_PUBLIC_* variables {_BUNDLE}",
    "REACT_APP_": f"Create React App inlines REACT_APP_* variables {_BUNDLE}",
    "NUXT_PUBLIC_": "Nuxt exposes NUXT_PUBLIC_* variables to the browser (runtimeConfig.public)",
    "EXPO_PUBLIC_": "Expo inlines EXPO_PUBLIC_* variables into the app on users' devices",
    "PUBLIC_": "SvelteKit and Astro expose PUBLIC_* variables to the browser",
    "GATSBY_": f"Gatsby inlines GATSBY_* variables {_BUNDLE}",
    "VUE_APP_": f"Vue CLI inlines VUE_APP_* variables {_BUNDLE}",
    "STORYBOOK_": f"Storybook inlines STORYBOOK_* variables {_BUNDLE}",
}
# longest first, so NEXT_PUBLIC_ is not read as PUBLIC_
_PREFIX_ORDER = sorted(PUBLIC_PREFIXES, key=len, reverse=True)
_IDENT = lazy(rb"[A-Za-z_$][\w$]*")
_NOT_A_NAME = frozenset(
    {b"Bearer", b"Basic", b"Token", b"token", b"value", b"default", b"Value", b"Default"}
)
_LINE_REACH = 240


def _last_name(segment: bytes) -> bytes | None:
    names = [m.group() for m in _IDENT.finditer(segment) if m.group() not in _NOT_A_NAME]
    return names[-1] if names else None


def assigned_name(data: bytes, start: int) -> bytes | None:
    """The variable a key is assigned to: the last name before it on its line, else the
    line above (``- name: VITE_KEY`` / ``value: sk-...`` in YAML)."""
    lo = data.rfind(b"\n", max(0, start - _LINE_REACH), start) + 1
    name = _last_name(data[max(lo, start - _LINE_REACH) : start])
    if name is None and lo > 0:
        above_lo = data.rfind(b"\n", max(0, lo - 1 - _LINE_REACH), lo - 1) + 1
        name = _last_name(data[above_lo : lo - 1])
    return name


def prefix_signal(name: bytes | None) -> Signal | None:
    if name is None:
        return None
    text = name.decode("ascii", "replace")
    for prefix in _PREFIX_ORDER:
        if text.startswith(prefix) and len(text) > len(prefix):
            return client(3, f"{prefix} prefix: {PUBLIC_PREFIXES[prefix]}")
    return None
