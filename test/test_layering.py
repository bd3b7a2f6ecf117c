"""Imports inside the package go one way: entry points -> glue -> frontend -> utils.

The check reads every module's source (no imports are run) and collects the
``espnet2_ext.*`` modules it imports, at any depth (function-level imports count).
"""

import ast
from pathlib import Path
from typing import Dict, List, Set, Tuple

import espnet2_ext

PACKAGE = Path(espnet2_ext.__file__).parent

#: What each subpackage may import from the package (besides itself).
ALLOWED: Dict[str, Set[str]] = {
    # entry points
    "bin": {"tasks", "train", "frontend", "upstream", "recipe", "corpora", "utils"},
    "bench": {"tasks", "train", "frontend", "upstream", "corpora", "utils"},
    # task / trainer glue
    "tasks": {"train", "frontend", "utils"},
    "train": {"utils"},
    # recipe-side stage modules (called by the shell drivers)
    "recipe": {"utils"},
    "corpora": {"recipe", "utils"},
    # the frontend and the checkpoints it loads
    "frontend": {"utils"},
    "upstream": {"utils"},
    "utils": set(),
}


def imported_packages(path: Path) -> List[Tuple[int, str]]:
    """(line, subpackage) of every ``espnet2_ext.<subpackage>`` import in a file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
            if node.module == "espnet2_ext":
                names = [f"espnet2_ext.{alias.name}" for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "espnet2_ext" and len(parts) > 1:
                found.append((node.lineno, parts[1]))
    return found


def violations() -> List[str]:
    bad = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if len(rel.parts) == 1:
            continue  # espnet2_ext/__init__.py: the package's front door
        owner = rel.parts[0]
        for line, target in imported_packages(path):
            if target != owner and target not in ALLOWED[owner]:
                bad.append(f"espnet2_ext/{rel}:{line}: {owner} imports {target}")
    return bad


def test_every_subpackage_is_classified():
    subpackages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert subpackages == set(ALLOWED)


def test_imports_go_down_the_layers_only():
    assert violations() == []


def test_the_check_sees_function_level_imports(tmp_path):
    module = tmp_path / "m.py"
    module.write_text(
        "import torch\nfrom espnet2_ext import tasks\n\n"
        "def f():\n    from espnet2_ext.bin.smoke import main\n"
    )
    assert imported_packages(module) == [(2, "tasks"), (5, "bin")]
