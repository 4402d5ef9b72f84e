"""The shell blocks of the docs, as tests/e2e/test_docs_as_written.py runs them.

Every fenced ```sh block on a page is a command a user is told to run (```console shows output,
```yaml shows a file: neither is run). An HTML comment on the line before the fence, invisible
once rendered, says what the test needs to know:

    <!-- doc-test: exits 1; prints "✗ CRDs" -->      the block's last command exits 1 (any other
                                                     status fails), and its output holds the text
    <!-- doc-test: stand-in -->                      some lines of the block cannot run here as
                                                     written: the test replaces exactly those
                                                     lines (its STAND_INS table says with what and
                                                     why); the block's other lines run as written

Directives are separated by `;`. A block with no comment must exit 0.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

FENCE = re.compile(r"^```(\S*)\s*$")
MARKER = re.compile(r"^<!--\s*doc-test:\s*(.*?)\s*-->\s*$")
HEADING = re.compile(r"^(#+)\s+(.*?)\s*$")


@dataclass(frozen=True)
class Block:
    page: str
    line: int
    """1-based line of the opening fence."""
    section: str
    """The nearest heading above the block."""
    text: str
    directives: tuple[str, ...] = ()

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"

    @property
    def stand_in(self) -> bool:
        return "stand-in" in self.directives

    @property
    def exit_status(self) -> int:
        for directive in self.directives:
            if directive.startswith("exits "):
                return int(directive.removeprefix("exits "))
        return 0

    @property
    def prints(self) -> list[str]:
        return [
            shlex.split(d.removeprefix("prints "))[0]
            for d in self.directives
            if d.startswith("prints ")
        ]


def parse_directives(text: str) -> tuple[str, ...]:
    directives = tuple(d.strip() for d in text.split(";") if d.strip())
    for directive in directives:
        if not (
            directive == "stand-in"
            or re.fullmatch(r"exits \d+", directive)
            or re.fullmatch(r'prints ".+"', directive)
        ):
            raise ValueError(f"unknown doc-test directive: {directive!r}")
    return directives


def shell_blocks(root: Path, page: str, *, section: str | None = None) -> list[Block]:
    """The ```sh blocks of `page` (relative to `root`), only those under the heading `section`
    (and its subheadings) when given."""
    lines = (root / page).read_text().splitlines()
    found: list[Block] = []
    heading, level_in, inside = "", 0, section is None
    index = 0
    while index < len(lines):
        line = lines[index]
        match = HEADING.match(line)
        if match:
            level, title = len(match.group(1)), match.group(2)
            heading = title
            if section is not None:
                if title == section:
                    inside, level_in = True, level
                elif inside and level <= level_in:
                    inside = False
        fence = FENCE.match(line)
        if not fence:
            index += 1
            continue
        end = index + 1
        while end < len(lines) and not lines[end].startswith("```"):
            end += 1
        if fence.group(1) == "sh" and inside:
            previous = index - 1
            while previous >= 0 and not lines[previous].strip():
                previous -= 1
            marker = MARKER.match(lines[previous]) if previous >= 0 else None
            found.append(
                Block(
                    page=page,
                    line=index + 1,
                    section=heading,
                    text="\n".join(lines[index + 1 : end]) + "\n",
                    directives=parse_directives(marker.group(1)) if marker else (),
                )
            )
        index = end + 1
    return found
