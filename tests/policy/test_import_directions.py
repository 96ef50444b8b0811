"""The import directions each package's docstring states, enforced on every module (read with ast, never run).

    common      imports nothing of the repository (the standard library only)
    flowcheck   -> common
    stacks      -> flowcheck, common
    plan_diff   -> stacks, flowcheck, common
    ops         -> stacks, flowcheck, common
    main.py     -> stacks, common                  (what `cdktf synth` runs)
    benchmarks  -> stacks, flowcheck, common, plan_diff, tests (their helpers in tests.support)
    tests       -> everything

A package may always import itself. So nothing imports ops but the tests, nothing imports tests but
the tests and the benchmarks, and the flow checker runs without the stacks (the VM runs it with
PyYAML and cron-converter only: common and flowcheck never import cdktf, the providers or Google's
libraries either).

What counts as an import: `import` and `from ... import` statements anywhere in a module (inside a
function or under TYPE_CHECKING too; a relative import is resolved, and one that leaves its
top-level package is refused), `importlib.import_module` / `__import__` / `runpy.run_module` with a
literal name, and a `-m <module>` in a literal command (`[sys.executable, "-m", "ops.doctor"]`,
"python -m flowcheck.flow_catalog flows"), which runs the module as surely as an import.
"""

from __future__ import annotations

import ast
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from stacks import synth_cache
from stacks.settings import PROJECT_ROOT

EVERYTHING = "*"
# Owner (a top-level package, a top-level module, or benchmarks/) -> what it may import besides itself.
RULES: dict[str, frozenset[str]] = {
    "common": frozenset(),
    "flowcheck": frozenset({"common"}),
    "stacks": frozenset({"flowcheck", "common"}),
    "plan_diff": frozenset({"stacks", "flowcheck", "common"}),
    "ops": frozenset({"stacks", "flowcheck", "common"}),
    "main": frozenset({"stacks", "common"}),
    "benchmarks": frozenset({"stacks", "flowcheck", "common", "plan_diff", "tests"}),
    "tests": frozenset({EVERYTHING}),
}
# Folders of scripts, not packages: their modules are run as files, never imported.
SCRIPT_FOLDERS = frozenset({"benchmarks"})
# Third-party libraries the flow checker and common must not need (they run without the stacks' libraries).
HEAVY = ("cdktf", "constructs", "jsii", "cdktf_cdktf_provider_docker", "cdktf_cdktf_provider_google", "google")
LIGHT_PACKAGES = ("common", "flowcheck")
_DYNAMIC_IMPORTS = frozenset({"import_module", "__import__", "run_module"})
_PYTHON_M = re.compile(r"(?:^|\s)python3?\s+(?:-[A-Za-z]+\s+)*-m\s+([A-Za-z_][\w.]*)")


@dataclass(frozen=True)
class Import:
    line: int
    module: str  # absolute, dotted


def _skipped(path: Path) -> bool:
    return any(part.startswith(".") or part == "__pycache__" for part in path.parts)


def owned_modules(root: Path) -> Iterator[tuple[str, Path]]:
    """(owner, file) for every module of the repository: top-level modules, packages, script folders."""
    for path in sorted(root.glob("*.py")):
        yield path.stem, path
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if (folder / "__init__.py").is_file() or folder.name in SCRIPT_FOLDERS:
            for path in sorted(folder.rglob("*.py")):
                if not _skipped(path.relative_to(root)):
                    yield folder.name, path


def _docstring_nodes(tree: ast.Module) -> set[int]:
    """The ids of the Constant nodes that are docstrings (they may name any command in prose)."""
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def imports_of(path: Path, root: Path) -> Iterator[Import | str]:
    """Every import of one module; a relative import leaving its top-level package as a problem line."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    parts = path.relative_to(root).with_suffix("").parts
    package = parts[:-1]  # the package a relative import starts from (for __init__.py too)
    docstrings = _docstring_nodes(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (Import(node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                yield Import(node.lineno, node.module or "")
            elif node.level > len(package):
                yield f"{node.lineno}: a relative import (level {node.level}) that leaves its top-level package"
            else:
                base = package[: len(package) - node.level + 1]
                yield Import(node.lineno, ".".join([*base, *([node.module] if node.module else [])]))
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            if name in _DYNAMIC_IMPORTS and isinstance(node.args[0].value, str):
                yield Import(node.lineno, node.args[0].value)
        elif isinstance(node, ast.List | ast.Tuple):
            for flag, value in itertools.pairwise(node.elts):
                if (
                    isinstance(flag, ast.Constant)
                    and flag.value == "-m"
                    and isinstance(value, ast.Constant)
                    and isinstance(value.value, str)
                ):
                    yield Import(value.lineno, value.value)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield from (Import(node.lineno, module) for module in _PYTHON_M.findall(node.value))


def violations(root: Path) -> list[str]:
    """One line per import against the rules, per module of an unknown owner, per heavy library."""
    problems = []
    for owner, path in owned_modules(root):
        shown = path.relative_to(root).as_posix()
        if owner not in RULES:
            problems.append(f"{shown}: no import rule for {owner!r}; add it to RULES and say it in its docstring")
            continue
        allowed = RULES[owner] | {owner}
        found_here: list[tuple[int, str]] = []
        for found in imports_of(path, root):
            if isinstance(found, str):
                found_here.append((int(found.split(":")[0]), f"{shown}:{found}"))
                continue
            top = found.module.split(".")[0]
            if owner in LIGHT_PACKAGES and top in HEAVY:
                found_here.append(
                    (found.line, f"{shown}:{found.line}: {owner} imports {found.module}, which the VM's image lacks")
                )
            if top in RULES and EVERYTHING not in allowed and top not in allowed:
                may = ", ".join(sorted(RULES[owner])) or "nothing of the repository"
                found_here.append(
                    (found.line, f"{shown}:{found.line}: {owner} imports {found.module} ({owner} may import: {may})")
                )
        problems += [problem for _, problem in sorted(found_here)]
    return problems


def test_every_module_imports_in_the_stated_directions() -> None:
    assert violations(PROJECT_ROOT) == []


def test_a_planted_violation_fails_the_rule(tmp_path: Path) -> None:
    """The rule test itself: each kind of violation in a small tree is reported, the allowed ones are not."""
    files = {
        "main.py": "from stacks import app\nfrom ops import destroy\n",
        "common/__init__.py": "",
        "common/errors.py": "import stacks.settings\n",
        "flowcheck/__init__.py": "",
        "flowcheck/lint.py": (
            "from common.errors import BundleError\nfrom . import other\nfrom cdktf import App\n"
            "def later():\n    from stacks.settings import PROJECT_ROOT\n"
        ),
        "flowcheck/other.py": "from .. import stacks\n",
        "stacks/__init__.py": "",
        "stacks/local/__init__.py": "from ..settings import X\nfrom ...ops import deploy\n",
        "stacks/settings.py": (
            '"""Run `python -m ops.doctor` first (prose: allowed)."""\n'
            "import importlib, subprocess, sys\nfrom typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    from ops.deploy import runner\n"
            'importlib.import_module("ops.smoke")\n'
            'subprocess.run([sys.executable, "-m", "ops.doctor"])\n'
            'COMMAND = "python -m ops.destroy local"\n'
            'CHECK = "python -m flowcheck.flow_catalog flows"\n'
        ),
        "ops/__init__.py": "",
        "ops/tool.py": "import stacks.settings\nfrom plan_diff import compare\nfrom tests.support import fakes\n",
        "plan_diff/__init__.py": "import flowcheck\n",
        "tests/__init__.py": "import ops.tool\n",
        "benchmarks/bench.py": "from tests.support import synth\nimport ops\n",
        "stray/__init__.py": "",
        "dbt/notes.py": "import ops\n",  # not a package: never imported, not checked
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    assert violations(tmp_path) == [
        "main.py:2: main imports ops (main may import: common, stacks)",
        "benchmarks/bench.py:2: benchmarks imports ops "
        "(benchmarks may import: common, flowcheck, plan_diff, stacks, tests)",
        "common/errors.py:1: common imports stacks.settings (common may import: nothing of the repository)",
        "flowcheck/lint.py:3: flowcheck imports cdktf, which the VM's image lacks",
        "flowcheck/lint.py:5: flowcheck imports stacks.settings (flowcheck may import: common)",
        "flowcheck/other.py:1: a relative import (level 2) that leaves its top-level package",
        "ops/tool.py:2: ops imports plan_diff (ops may import: common, flowcheck, stacks)",
        "ops/tool.py:3: ops imports tests.support (ops may import: common, flowcheck, stacks)",
        "stacks/local/__init__.py:2: a relative import (level 3) that leaves its top-level package",
        "stacks/settings.py:5: stacks imports ops.deploy (stacks may import: common, flowcheck)",
        "stacks/settings.py:6: stacks imports ops.smoke (stacks may import: common, flowcheck)",
        "stacks/settings.py:7: stacks imports ops.doctor (stacks may import: common, flowcheck)",
        "stacks/settings.py:8: stacks imports ops.destroy (stacks may import: common, flowcheck)",
        "stray/__init__.py: no import rule for 'stray'; add it to RULES and say it in its docstring",
    ]


def _stated_rule(docstring: str) -> frozenset[str]:
    """The packages a docstring's `May import: ...` line names (up to its first '.' or '(')."""
    match = re.search(r"^May import: ([^.(]*)", docstring, re.MULTILINE)
    assert match, "no `May import: ...` line"
    words = re.findall(r"[a-z_]+", match.group(1))
    if words[:1] == ["nothing"]:
        return frozenset()
    if words[:1] == ["every"]:
        return frozenset({EVERYTHING})
    return frozenset(words)


@pytest.mark.parametrize("owner", sorted(set(RULES) - SCRIPT_FOLDERS))
def test_the_docstring_states_the_rule(owner: str) -> None:
    """Each package's __init__.py (and main.py) says what it may import: exactly what this test enforces."""
    path = PROJECT_ROOT / owner / "__init__.py" if (PROJECT_ROOT / owner).is_dir() else PROJECT_ROOT / f"{owner}.py"
    docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    assert _stated_rule(docstring) - {owner} == RULES[owner], docstring  # a package may name itself, or not


def test_every_package_says_what_it_is_for() -> None:
    missing = [
        path.relative_to(PROJECT_ROOT).as_posix()
        for owner, path in owned_modules(PROJECT_ROOT)
        if path.name == "__init__.py" and not ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert missing == []


def test_the_synth_key_covers_every_package_a_synth_can_import() -> None:
    """main.py's imports, and theirs, transitively: a change in any of them must give a new synth key."""
    reachable, todo = set(), ["main"]
    while todo:
        for package in RULES[todo.pop()] - reachable:
            reachable.add(package)
            todo.append(package)
    assert reachable == set(synth_cache.SOURCE_DIRS)
