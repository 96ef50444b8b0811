"""Every repository path a code comment names exists.

Comments tell the next reader where to look ("tests/unit/test_gcp_stack.py keeps them in step");
after a file moves, a stale one sends them nowhere. Read: Python comments and docstrings, and the
comments of shell, YAML, Makefile, systemd unit and XML files tracked by Git. A path counts when it
starts with one of the repository's top-level folders and has a `/` (`stacks/settings.py`,
`tools/kestra/`); placeholders (`flows/<id>.yaml`, `dbt/**`) are skipped, paths Git ignores
(generated, like `tools/kestra/lib/`) are accepted, and so is a comment that says its path "does not
exist" (the dbt flows: "dbt/packages.yml does not exist").
"""

from __future__ import annotations

import ast
import io
import re
import subprocess
import tokenize
from collections.abc import Iterator
from pathlib import Path

import pytest

from stacks.settings import PROJECT_ROOT

HASH_COMMENTED = (".sh", ".yaml", ".yml", ".service", ".toml", ".cfg")
HASH_COMMENTED_NAMES = ("Makefile", ".gitignore")
XML_COMMENT = re.compile(r"<!--(.*?)-->", re.S)
# A `#` that starts a comment in shell/YAML/Makefile: at the line's start or after a blank.
HASH_COMMENT = re.compile(r"(?:^|\s)#(.*)$")
PLACEHOLDER = re.compile(r"[<>{}*$]")


def tracked_files(root: Path) -> list[str]:
    result = subprocess.run(
        ["git", "-C", str(root), "ls-files", "-z"], capture_output=True, text=True, check=False, timeout=60
    )
    if result.returncode != 0:
        pytest.skip("not a Git checkout: the tracked files are unknown")
    return [name for name in result.stdout.split("\0") if name]


def path_pattern(top_level: set[str]) -> re.Pattern[str]:
    folders = "|".join(sorted((re.escape(name) for name in top_level), key=len, reverse=True))
    # Not inside a longer word, path or URL; at least one `/`; ends on a name character or `/`.
    return re.compile(rf"(?<![\w./:@-])((?:{folders})/[\w./*<>{{}}$-]*[\w/>}}*])")


def python_comments(text: str) -> Iterator[tuple[int, str]]:
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError):
        return
    for token in tokens:
        if token.type == tokenize.COMMENT:
            yield token.start[0], token.string
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                value = body[0].value.value
                if isinstance(value, str):
                    for offset, line in enumerate(value.splitlines()):
                        yield body[0].lineno + offset, line


def hash_comments(text: str) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(text.splitlines(), start=1):
        match = HASH_COMMENT.search(line)
        if match:
            yield number, match.group(1)


def xml_comments(text: str) -> Iterator[tuple[int, str]]:
    for match in XML_COMMENT.finditer(text):
        first = text.count("\n", 0, match.start()) + 1
        for offset, line in enumerate(match.group(1).splitlines()):
            yield first + offset, line


def comments_of(name: str, text: str) -> Iterator[tuple[int, str]]:
    if name.endswith(".py"):
        yield from python_comments(text)
    elif name.endswith(HASH_COMMENTED) or Path(name).name in HASH_COMMENTED_NAMES:
        yield from hash_comments(text)
    elif name.endswith(".xml"):
        yield from xml_comments(text)


def ignored_by_git(root: Path, paths: set[str]) -> set[str]:
    if not paths:
        return set()
    result = subprocess.run(
        ["git", "-C", str(root), "check-ignore", "--no-index", "--stdin"],
        input="\n".join(sorted(paths)),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    return set(result.stdout.split())


def stale_comment_paths(root: Path, files: dict[str, str]) -> list[str]:
    """`file:line: names missing/path` for each path a comment names that is neither there nor ignored."""
    tracked = set(files) | set(tracked_files(root))
    folders = {parent.as_posix() for name in tracked for parent in Path(name).parents if parent != Path(".")}
    top_level = {name.split("/", 1)[0] for name in tracked if "/" in name and not name.startswith(".")}
    pattern = path_pattern(top_level)
    found: list[tuple[str, int, str]] = []
    for name, text in files.items():
        for number, comment in comments_of(name, text):
            if "does not exist" in comment:
                continue
            for match in pattern.finditer(comment):
                path = match.group(1).rstrip(".")
                if PLACEHOLDER.search(path):
                    continue
                bare = path.rstrip("/")
                if bare in tracked or bare in folders or (root / bare).exists():
                    continue
                found.append((name, number, path))
    ignored = ignored_by_git(root, {path for _, _, path in found})
    return [
        f"{name}:{number}: names {path}, which does not exist"
        for name, number, path in sorted(found)
        if path not in ignored
    ]


def read_tracked(root: Path) -> dict[str, str]:
    texts = {}
    for name in tracked_files(root):
        if not (name.endswith((".py", ".xml", *HASH_COMMENTED)) or Path(name).name in HASH_COMMENTED_NAMES):
            continue
        path = root / name
        if path.is_file():
            texts[name] = path.read_text(encoding="utf-8", errors="replace")
    return texts


def test_every_path_a_comment_names_exists() -> None:
    assert stale_comment_paths(PROJECT_ROOT, read_tracked(PROJECT_ROOT)) == []


def test_a_stale_path_is_reported_with_its_file_and_line() -> None:
    files = {
        "stacks/example.py": '"""Made as stacks/local_credentials.py makes it."""\n\nX = 1  # see tests/unit/gone.py\n',
        "stacks/gce/files/example.sh": "#!/usr/bin/env bash\n# as stacks/local/credentials.py does, not docs/gone.md\n",
        "tools/example.xml": "<!--\n  see tools/kestra/README.md.\n-->\n<x/>\n",
        "Makefile.example": "",
    }
    assert stale_comment_paths(PROJECT_ROOT, files) == [
        "stacks/example.py:1: names stacks/local_credentials.py, which does not exist",
        "stacks/example.py:3: names tests/unit/gone.py, which does not exist",
        "stacks/gce/files/example.sh:2: names docs/gone.md, which does not exist",
        "tools/example.xml:2: names tools/kestra/README.md, which does not exist",
    ]
