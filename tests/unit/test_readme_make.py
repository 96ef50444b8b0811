"""No drift between the docs and the Makefile: what the README's Quick start says to type exists,
every `make` command README.md, CONTRIBUTING.md and docs/*.md show is a target, and every target
explains itself in `make help`.

The Quick start is the learner's first contact: exactly two commands (deploy, test), both
real Make targets. Every target carries a `## ` description, so `make help` is complete.
"""

from __future__ import annotations

import re
import subprocess

from stacks.settings import PROJECT_ROOT

MAKEFILE = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
TROUBLESHOOTING = PROJECT_ROOT / "docs" / "troubleshooting.md"
DOC_PAGES = [
    PROJECT_ROOT / "README.md",
    PROJECT_ROOT / "CONTRIBUTING.md",
    *sorted((PROJECT_ROOT / "docs").glob("*.md")),
]
# A rule line `name: prerequisites ## help` (not a `:=` assignment, not a file target with a
# path or a variable such as `.venv/.synced:` or `$(PIPENV):`).
_RULE = re.compile(r"^(?P<name>[A-Za-z][A-Za-z0-9_-]*)\s*:(?![:=])(?P<rest>.*)$", re.MULTILINE)
_MAKE_COMMAND = re.compile(r"(?<![\w-])make\s+(?P<target>[A-Za-z][A-Za-z0-9_-]*)")
# A `make` command as the docs show one: in an inline code span (`make diff BASE=...`, also after
# a prefix such as `ZOOMCAMP_SANDBOX=true make destroy-local`), never the verb in prose.
_CODE_SPAN = re.compile(r"`([^`\n]+)`")
# A whole target name: `make destroy-<stack>` or `make deploy-*` names a family, not one target.
_SHOWN_MAKE_COMMAND = re.compile(r"(?<![\w-])make\s+(?P<target>[A-Za-z][A-Za-z0-9_-]*)(?![\w*<-])")


def makefile_targets() -> dict[str, str]:
    """Target -> the rest of its rule line."""
    return {match["name"]: match["rest"] for match in _RULE.finditer(MAKEFILE)}


def section(markdown: str, heading: str) -> str:
    match = re.search(rf"^## {re.escape(heading)}\s*$(?P<body>.*?)(?=^## |\Z)", markdown, re.MULTILINE | re.DOTALL)
    assert match, f"README.md has no '## {heading}' section"
    return match["body"]


def code_block_commands(markdown: str) -> list[str]:
    """Non-empty, non-comment lines of fenced code blocks, trailing `# comments` removed."""
    commands = []
    for block in re.findall(r"^```[^\n]*\n(.*?)^```", markdown, re.MULTILINE | re.DOTALL):
        for line in block.splitlines():
            command = line.split(" #", 1)[0].strip()
            if command and not command.startswith("#"):
                commands.append(command)
    return commands


def test_quick_start_has_exactly_two_commands_deploy_and_test() -> None:
    commands = code_block_commands(section(README, "Quick start"))
    assert commands == ["make deploy-local", "make test"]


def test_every_make_command_in_the_quick_start_is_a_target() -> None:
    mentioned = {m["target"] for m in _MAKE_COMMAND.finditer(section(README, "Quick start"))}
    assert mentioned, "the Quick start names no make command"
    assert sorted(mentioned - set(makefile_targets())) == []


def test_every_make_command_in_troubleshooting_is_a_target() -> None:
    mentioned = {m["target"] for m in _MAKE_COMMAND.finditer(TROUBLESHOOTING.read_text(encoding="utf-8"))}
    assert mentioned, "docs/troubleshooting.md names no make command"
    assert sorted(mentioned - set(makefile_targets())) == []


def shown_make_targets(markdown: str) -> set[str]:
    """Targets of the `make` commands in code spans and fenced code blocks."""
    code = [span for span in _CODE_SPAN.findall(markdown)] + code_block_commands(markdown)
    return {m["target"] for text in code for m in _SHOWN_MAKE_COMMAND.finditer(text)}


def test_every_make_command_the_docs_show_is_a_target() -> None:
    targets = set(makefile_targets())
    unknown = {
        page.relative_to(PROJECT_ROOT).as_posix(): sorted(
            shown_make_targets(page.read_text(encoding="utf-8")) - targets
        )
        for page in DOC_PAGES
    }
    assert {page: names for page, names in unknown.items() if names} == {}


def test_the_docs_check_sees_a_made_up_target() -> None:
    assert shown_make_targets("run `make deploy-local`, then `ZOOMCAMP_SANDBOX=true make destroy-locl`") == {
        "deploy-local",
        "destroy-locl",
    }
    assert shown_make_targets("to make sure the flows load; `make deploy-<stack>`, `make destroy-*`") == set()


def test_every_target_has_a_help_line() -> None:
    targets = makefile_targets()
    assert {"help", "setup", "test", "doctor", "deploy-local", "deploy-gcp"} <= set(targets)
    missing = sorted(name for name, rest in targets.items() if not re.search(r"##\s+\S", rest))
    assert missing == [], f"targets without a `## description`: {missing}"


def test_every_phony_target_is_defined() -> None:
    phony = set(" ".join(re.findall(r"^\.PHONY:((?:.*\\\n)*.*)$", MAKEFILE, re.MULTILINE)).replace("\\", " ").split())
    assert sorted(phony - set(makefile_targets())) == []


def test_make_help_lists_every_target_with_its_description() -> None:
    completed = subprocess.run(
        ["make", "--no-print-directory", "help"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60
    )
    assert completed.returncode == 0, completed.stderr
    plain = re.sub(r"\x1b\[[0-9;]*m", "", completed.stdout)
    listed = {line.split()[0]: line.split(None, 1)[1] for line in plain.splitlines() if line.strip()}
    for name, rest in makefile_targets().items():
        assert name in listed, f"`make help` does not list {name}"
        assert listed[name] == rest.split("## ", 1)[1].strip()


def _dry_run(target: str) -> list[str]:
    completed = subprocess.run(
        ["make", "--no-print-directory", "-n", target], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout.splitlines()


def test_deploys_run_the_doctor_first_then_the_wrapper() -> None:
    for stack in ("local", "gcp"):
        lines = _dry_run(f"deploy-{stack}")
        doctor = next(i for i, line in enumerate(lines) if f"-m ops.doctor --stack {stack}" in line)
        deploy = next(i for i, line in enumerate(lines) if f"-m ops.deploy {stack}" in line)
        assert doctor < deploy, lines
