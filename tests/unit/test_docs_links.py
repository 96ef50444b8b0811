"""Every relative link in README.md, CONTRIBUTING.md and docs/*.md points to a file that exists, and
every `#anchor` to a heading of the page it names.

Anchors follow GitHub's slugs: the heading's text without its Markdown (code spans, links, emphasis),
lower-cased, every character that is not a letter, digit, `_`, `-` or space dropped, spaces made
`-`; a repeated heading gets `-1`, `-2`, ... Links inside code (fenced blocks, `spans`) are not links.
External links (`https:`, `mailto:`) are not checked: the tests run offline.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

from stacks.settings import PROJECT_ROOT

PAGES = [PROJECT_ROOT / "README.md", PROJECT_ROOT / "CONTRIBUTING.md", *sorted((PROJECT_ROOT / "docs").glob("*.md"))]
_FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
_CODE_SPAN = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*(?P<target><[^>]*>|[^)\s]+)(?:\s+\"[^\"]*\")?\s*\)")
_HEADING = re.compile(r"^#{1,6}\s+(?P<text>.+?)\s*#*\s*$", re.MULTILINE)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading's text."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
    text = text.replace("`", "").replace("*", "")
    kept = "".join(
        c
        for c in text.lower()
        if c in "_- " or unicodedata.category(c)[0] in ("L", "N") or unicodedata.category(c) == "Mn"
    )
    return kept.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    found: set[str] = set()
    counts: dict[str, int] = {}
    for match in _HEADING.finditer(_FENCE.sub("", page.read_text(encoding="utf-8"))):
        base = slug(match["text"])
        n = counts.get(base, 0)
        counts[base] = n + 1
        found.add(base if n == 0 else f"{base}-{n}")
    return found


def links(markdown: str) -> list[str]:
    prose = _CODE_SPAN.sub("", _FENCE.sub("", markdown))
    return [m["target"].strip("<>") for m in _LINK.finditer(prose)]


def broken_links(page: Path) -> list[str]:
    problems = []
    for target in links(page.read_text(encoding="utf-8")):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):
            continue
        path_part, _, anchor = target.partition("#")
        linked = (page.parent / path_part).resolve() if path_part else page
        if not linked.exists():
            problems.append(f"{target}: no file {path_part}")
        elif anchor and (linked.suffix != ".md" or anchor not in anchors(linked)):
            problems.append(f"{target}: no heading #{anchor} in {linked.name}")
    return problems


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(PROJECT_ROOT).as_posix())
def test_every_relative_link_resolves(page: Path) -> None:
    assert page.is_file()
    assert broken_links(page) == []


def test_every_docs_page_is_linked_from_the_readme() -> None:
    linked = {target.partition("#")[0] for target in links(PAGES[0].read_text(encoding="utf-8"))}
    pages = {page.relative_to(PROJECT_ROOT).as_posix() for page in PAGES[1:]}
    assert sorted(pages - linked) == []


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        (
            "What replaced the course's `04_gcp_kv` and `05_gcp_setup` flows",
            "what-replaced-the-courses-04_gcp_kv-and-05_gcp_setup-flows",
        ),
        ("End to end on a real Docker (`e2e.yml`, `make smoke`)", "end-to-end-on-a-real-docker-e2eyml-make-smoke"),
        ("Backfills (the months 2019-01 … 2021-07)", "backfills-the-months-2019-01--2021-07"),
        ("Reviewing changes (plan diffs)", "reviewing-changes-plan-diffs"),
    ],
)
def test_slugs_are_githubs(heading: str, anchor: str) -> None:
    assert slug(heading) == anchor


def test_the_check_finds_a_missing_file_and_a_missing_anchor(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "# Title\n\n## Two words\n\n[ok](#two-words) [ok](#title) [gone](missing.md) [bad](#three-words)\n"
        "`[code](nowhere.md)` [web](https://example.com/x)\n\n```\n[fenced](nowhere.md)\n```\n",
        encoding="utf-8",
    )
    assert [p.split(":")[0] for p in broken_links(page)] == ["missing.md", "#three-words"]
