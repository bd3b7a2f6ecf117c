"""Imports inside the package go one way, and never in a circle.

The layers, top to bottom::

    bin, bench                          entry points
    recipes/<family>                    one recipe family each (mustc, ml_superb, ...)
    stages, scoring, synth, upstream    generic stage code, scoring, synthesis, SSL
    fileio                              Kaldi files, audio, stamps
    tasks -> train, frontend, cascade   the model core
    utils

The check reads every module's source (no imports are run) and collects the
``espnet2_ext.*`` modules it imports, at any depth (function-level imports count).
Besides the layers it holds two rules: no recipe family imports another, and no
module reaches itself again through the modules it imports.
"""

import ast
from pathlib import Path
from typing import Dict, List, Set, Tuple

import espnet2_ext

PACKAGE = Path(espnet2_ext.__file__).parent
FAMILIES = "recipes"

#: What each layer may import from the package (besides itself). A recipe family
#: (``recipes.<family>``) is a layer of its own; ``recipes`` stands for each of them.
ALLOWED: Dict[str, Set[str]] = {
    # entry points
    "bin": {
        "tasks",
        "train",
        "frontend",
        "cascade",
        "upstream",
        FAMILIES,
        "stages",
        "scoring",
        "synth",
        "fileio",
        "utils",
    },
    "bench": {"tasks", "train", "frontend", "upstream", "utils"},
    # one recipe family each
    FAMILIES: {"stages", "scoring", "synth", "upstream", "fileio", "utils"},
    # generic stage code, scoring, synthesis, SSL upstreams
    "stages": {"fileio", "frontend", "utils"},
    "scoring": {"fileio", "utils"},
    "synth": {"fileio", "utils"},
    "upstream": {"fileio", "utils"},
    "fileio": {"utils"},
    # the model core
    "tasks": {"train", "frontend", "cascade", "utils"},
    "cascade": {"utils"},
    "train": {"utils"},
    "frontend": {"utils"},
    "utils": set(),
}


def module_name(path: Path) -> str:
    """``espnet2_ext.stages.tokens`` for ``.../espnet2_ext/stages/tokens.py``."""
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def layer(module: str) -> str:
    """The layer of a module: its subpackage, or ``recipes.<family>``."""
    parts = module.split(".")
    if len(parts) < 2:
        return ""
    if parts[1] == FAMILIES and len(parts) > 2:
        return f"{FAMILIES}.{parts[2]}"
    return parts[1]


def imported_modules(path: Path) -> List[Tuple[int, str]]:
    """(line, module) of every ``espnet2_ext.*`` import in a file: ``from
    espnet2_ext.a import b`` gives ``espnet2_ext.a.b`` when that is a module of the
    package, else ``espnet2_ext.a``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                names.append(full if _is_module(full) else node.module)
        for name in names:
            if name.startswith("espnet2_ext."):
                found.append((node.lineno, name))
    return found


def imported_packages(path: Path) -> List[Tuple[int, str]]:
    """(line, layer) of every ``espnet2_ext.*`` import in a file."""
    return [(line, layer(name)) for line, name in imported_modules(path)]


def _is_module(name: str) -> bool:
    rel = Path(*name.split(".")[1:])
    return (PACKAGE / rel).with_suffix(".py").is_file() or (
        PACKAGE / rel / "__init__.py"
    ).is_file()


def _allowed(owner: str, target: str) -> bool:
    if target in ("", owner):
        return True
    if owner.startswith(f"{FAMILIES}."):
        owner = FAMILIES
    if target.startswith(f"{FAMILIES}."):
        return False  # a family is imported by the entry points only
    return target in ALLOWED[owner]


def violations() -> List[str]:
    bad = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if len(rel.parts) == 1:
            continue  # espnet2_ext/__init__.py: the package's front door
        owner = layer(module_name(path))
        for line, target in imported_packages(path):
            entry = owner in ("bin", "bench") and target.startswith(f"{FAMILIES}.")
            if not entry and not _allowed(owner, target):
                bad.append(f"espnet2_ext/{rel}:{line}: {owner} imports {target}")
    return bad


def import_graph() -> Dict[str, Set[str]]:
    """Module -> the package's modules it imports (itself left out)."""
    graph = {}
    for path in PACKAGE.rglob("*.py"):
        name = module_name(path)
        graph[name] = {m for _, m in imported_modules(path) if m != name}
    return graph


def cycles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """The import circles of ``graph``: one per strongly connected component of
    more than one module (Tarjan's algorithm), each as its sorted modules."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    found = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_every_subpackage_is_classified():
    subpackages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert subpackages == set(ALLOWED)


def test_every_recipe_family_is_a_package():
    families = PACKAGE / FAMILIES
    loose = [p.name for p in families.glob("*.py") if p.name != "__init__.py"]
    assert loose == [], "recipes/ holds one subpackage per family, no modules"


def test_imports_go_down_the_layers_only():
    assert violations() == []


def test_no_recipe_family_imports_another():
    bad = [v for v in violations() if f"imports {FAMILIES}." in v]
    assert bad == []
    assert not _allowed("recipes.mustc", "recipes.ml_superb")
    assert _allowed("recipes.mustc", "recipes.mustc")


def test_no_import_circles():
    assert cycles(import_graph()) == []


def test_the_cycle_check_finds_a_circle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_check_sees_function_level_imports(tmp_path):
    module = tmp_path / "m.py"
    module.write_text(
        "import torch\nfrom espnet2_ext import tasks\n\n"
        "def f():\n    from espnet2_ext.bin.smoke import main\n"
        "    from espnet2_ext.recipes.mustc import presets\n"
    )
    assert imported_packages(module) == [
        (2, "tasks"),
        (5, "bin"),
        (6, "recipes.mustc"),
    ]
    assert imported_modules(module)[2] == (6, "espnet2_ext.recipes.mustc.presets")
