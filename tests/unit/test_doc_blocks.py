"""Every command block of the install, upgrade, GitOps and uninstall pages is run by
tests/e2e/test_docs_as_written.py, and its stand-ins replace only what they say they do."""

from __future__ import annotations

import pytest

from tests.e2e.test_docs_as_written import PAGES, SCENARIOS, STAND_INS, Doc, page_blocks
from tests.support.docblocks import parse_directives, shell_blocks
from tests.support.paths import ROOT


def test_every_block_of_the_named_pages_runs_in_a_scenario() -> None:
    run = {(s.page, s.index) for steps in SCENARIOS.values() for s in steps if isinstance(s, Doc)}
    blocks = {(page, i) for page in PAGES for i in range(len(page_blocks(page)))}
    assert blocks, "no blocks found"
    assert sorted(blocks - run) == [], "add these blocks to a scenario"
    assert sorted(run - blocks) == [], "these scenario steps name no block"


def test_readme_has_blocks_only_where_the_section_says() -> None:
    assert [b.section for b in page_blocks("README.md")] == ["Running it"] * 2
    assert len(shell_blocks(ROOT, "README.md")) > 2  # the tour's blocks are outside the section


@pytest.mark.parametrize("page", sorted(PAGES))
def test_stand_ins_replace_lines_only_in_marked_blocks(page: str) -> None:
    for block in page_blocks(page):
        replaced = [line for line in block.text.splitlines() if line.rstrip() in STAND_INS]
        if block.stand_in:
            assert replaced, f"{block.where} is marked stand-in but no line has one"
        else:
            assert not replaced, f"{block.where}: mark it <!-- doc-test: stand-in -->"


def test_every_stand_in_is_used() -> None:
    lines = {
        line.rstrip()
        for page in PAGES
        for block in page_blocks(page)
        for line in block.text.splitlines()
    }
    assert sorted(set(STAND_INS) - lines) == [], "stale stand-ins: their lines left the docs"


def test_directives_are_parsed_and_unknown_ones_refused() -> None:
    assert parse_directives('exits 1; prints "✗ CRDs"; stand-in') == (
        "exits 1",
        'prints "✗ CRDs"',
        "stand-in",
    )
    with pytest.raises(ValueError, match="unknown doc-test directive"):
        parse_directives("skip")
    (block,) = [b for b in page_blocks("docs/first-five-minutes.md") if b.exit_status == 1]
    assert block.prints == ["✓ AWS credentials", "✗ CRDs"]
