"""Which refs reach what: the ref tips, and for given commits every ref whose history
holds them (linear in commits and refs, so 100,000 refs stay cheap)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from keysentry.model.text import decode_path

REMOTE_PREFIX = "refs/remotes/"
# runs a git command and returns its output (HistoryRepository.run)
Runner = Callable[[list[str]], bytes]


@dataclass(frozen=True)
class RefTip:
    name: str
    oid: str  # what the ref names (a tag object for annotated tags)
    peeled: str  # the object behind an annotated tag, else oid
    raw: str = ""  # the name as git has it (``name`` is redacted for showing)


def ref_tips(run: Runner) -> list[RefTip]:
    out = run(["for-each-ref", "--format=%(objectname) %(*objectname) %(refname)"])
    tips = []
    for line in out.splitlines():
        oid, peeled, name = line.split(b" ", 2)
        shown, raw = decode_path(name), name.decode("utf-8", "surrogateescape")
        tips.append(RefTip(shown, oid.decode(), (peeled or oid).decode(), raw))
    return tips


def reaching_refs(
    run: Runner,
    targets: Iterable[str],
    tips: list[RefTip],
    head: str | None,
    graph: list[tuple[str, list[str]]] | None = None,
) -> dict[str, list[str]]:
    """For each target commit, the refs whose history contains it (HEAD as ``HEAD``).

    One bit per target, OR-ed from parents to children in topological order:
    linear in commits, with one dictionary look-up per ref. graph: the commits with
    their parents, parents first, when known already (else ``rev-list`` says).
    """
    bits = {oid: 1 << i for i, oid in enumerate(dict.fromkeys(targets))}
    reached: dict[str, list[str]] = {oid: [] for oid in bits}
    if not bits:
        return reached
    if graph is None:
        out = run(["rev-list", "--all", "--topo-order", "--parents", "--reverse"])
        lines = out.decode("ascii").splitlines()
        graph = [(line.split(" ")[0], line.split(" ")[1:]) for line in lines]
    masks: dict[str, int] = {}
    for commit, parents in graph:
        mask = bits.get(commit, 0)
        for parent in parents:
            mask |= masks.get(parent, 0)
        masks[commit] = mask
    named = [(t.name, t.peeled) for t in tips]
    if head is not None:
        named.append(("HEAD", head))
    by_position = list(bits)
    for name, tip in named:
        mask = masks.get(tip, 0)
        while mask:
            low = mask & -mask
            reached[by_position[low.bit_length() - 1]].append(name)
            mask ^= low
    return reached
