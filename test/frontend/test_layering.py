"""The frontend is a library below the task, trainer and scripts: it never imports
them."""

import ast
from pathlib import Path

import espnet2_ext.frontend

FRONTEND_DIR = Path(espnet2_ext.frontend.__file__).parent
FORBIDDEN = ("espnet2_ext.tasks", "espnet2_ext.train", "espnet2_ext.bin")


def imported_modules(path: Path):
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def test_frontend_imports_no_task_trainer_or_script_module():
    files = sorted(FRONTEND_DIR.glob("*.py"))
    assert len(files) > 5, files
    bad = [
        (path.name, name)
        for path in files
        for name in imported_modules(path)
        if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)
    ]
    assert bad == []
