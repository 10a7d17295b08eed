"""How far a key got through git: what the owner must do follows from it.

Shared by the hook (cli/hook.py), which tells the committer, and the guide
(guide/playbook.py), which plans the steps.
"""

from __future__ import annotations

NEVER_COMMITTED = "never-committed"  # no commit holds it: at most a staged or dangling blob
COMMITTED = "committed-not-pushed"  # a local commit holds it, no remote-tracking ref does
PUBLIC = "pushed-or-published"  # a remote holds it, or a site serves it
UNKNOWN = "unknown"  # the input did not read git history (a `keysentry scan` report)

STAGE_TEXT = {
    NEVER_COMMITTED: "never committed",
    COMMITTED: "committed, never pushed",
    PUBLIC: "pushed or published",
    UNKNOWN: "unknown (git history not read)",
}
BLOCKED_TEXT = "blocked before any commit"  # never committed, and git holds a blob of it
# clears the blob git wrote for a commit the hook blocked (and objects only reflogs keep)
CLEAR_COMMANDS = ("git reflog expire --expire-unreachable=now --all && git gc --prune=now",)
