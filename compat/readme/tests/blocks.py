"""The fenced code blocks of the top-level README.md, read at test time (never copied
here, so the README cannot drift from what is tested).

Each block is classified by its fence language and content into the check that runs it
(see ``test_readme.py``); a block no rule knows is a failure, so a new snippet cannot go
untested.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

README = Path(__file__).resolve().parents[3] / "README.md"

# The README's first block, command by command, and how each is checked.
FIRST_COMMANDS = {
    "cargo run --release -- serve": "run from a fresh copy by test_fresh_clone.py",
    "./scripts/test": "not run: it is what CI runs, and CI runs this suite from it",
}

_FENCE = re.compile(r"^(\s*)```(\w*)\s*$")


@dataclass(frozen=True)
class Block:
    """One fenced block: its language, text and where it starts in README.md."""

    lang: str
    code: str
    line: int
    end: int | None  # the closing fence's line; None when the block is never closed

    @property
    def kind(self) -> str:
        """Which check runs it (``unknown`` fails)."""
        c = self.code
        if self.lang == "sh":
            if "cargo run --release -- serve" in c:
                return "first-commands"
            if c.lstrip().startswith("docker "):
                return "docker"
            return "shell"
        if self.lang == "json":
            if '"event":"ready"' in c:
                return "ready-line"
            if '"/topic/' in c:
                return "pushtopic-notification"
        if self.lang == "js":
            if "forcebus-test" in c:
                return "js-test-helper"
            if "salesforce-pubsub-api-client" in c:
                return "pubsub-client"
            if "streaming" in c:
                return "jsforce-streaming"
            return "jsforce"
        if self.lang == "python":
            if "forcebus_org" in c:
                return "pytest-plugin"
            return "simple-salesforce"
        if self.lang == "text" and c.lstrip().startswith("$ forcebus "):
            return "cli-session"
        if self.lang == "toml":
            if re.search(r"^listen\s*=", c, re.M):
                return "config-sample"
            if "[[users]]" in c:
                return "users-config"
            if "[platform_events." in c:
                return "platform-event-config"
            if "[objects." in c:
                return "objects-config"
        return "unknown"

    def commands(self) -> list[str]:
        """A shell block's lines without comments and blank lines."""
        lines = (line.split("#")[0].strip() for line in self.code.splitlines())
        return [line for line in lines if line]

    @property
    def id(self) -> str:
        return f"README.md:{self.line}:{self.kind}"


def blocks() -> list[Block]:
    """Every fenced block of README.md, in order."""
    out: list[Block] = []
    lines = README.read_text().splitlines()
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, lang, start = m.group(1), m.group(2), i + 1
        body = []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith("```"):
            body.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i])
            i += 1
        end = i + 1 if i < len(lines) else None
        out.append(Block(lang=lang, code="\n".join(body) + "\n", line=start, end=end))
        i += 1
    return out
