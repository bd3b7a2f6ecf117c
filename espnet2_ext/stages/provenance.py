"""Provenance of a results file: date, Python, package versions, the git commit and
whether the tree was clean, the GPUs.

Every results writer (the mini recipes' report, the MuST-C results table, the
ML-SUPERB report) records :func:`environment` beside its numbers, so a table can be
traced to the code and packages that made it.

Example::

    >>> env = environment()
    >>> sorted(env)[:3]
    ['commit date', 'date', 'espnet']
"""

import importlib.metadata
import subprocess
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Dict, List, Optional

#: Package -> the distributions that may provide it, first found wins.
PACKAGES = {
    "torch": ("torch",),
    "torchaudio": ("torchaudio",),
    "espnet": ("espnet",),
    "s3prl": ("s3prl", "espnet-s3prl"),
    "sacrebleu": ("sacrebleu",),
}


def package_version(package: str) -> str:
    """The installed version (``2026.5.14 (espnet-s3prl)`` when another distribution
    provides it), or ``not installed``."""
    for dist in PACKAGES.get(package, (package,)):
        try:
            version = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
        return version if dist == package else f"{version} ({dist})"
    return "not installed"


def _git(repo: Path, *args: str) -> Optional[str]:
    try:
        done = subprocess.run(
            ["git", "-C", str(repo), *args],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()


def gpus() -> str:
    """``2 x NVIDIA H200`` (count and name of each kind torch sees), or ``none``."""
    import torch

    if not torch.cuda.is_available():
        return "none"
    names = Counter(
        torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())
    )
    return ", ".join(f"{n} x {name}" for name, n in names.items()) or "none"


def environment(repo: Optional[Path] = None) -> Dict[str, str]:
    """What produced the results: date, Python, package versions, the repo's git
    hash (``git tree``: ``dirty`` with uncommitted changes to tracked files), GPUs.

    Args:
        repo: the git work tree (default: the one holding this package); outside git
            the git values are ``unknown``.
    """
    import espnet2_ext

    if repo is None:
        repo = Path(espnet2_ext.__file__).resolve().parents[1]
    env = {
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "python": sys.version.replace("\n", " "),
    }
    for package in PACKAGES:
        env[package] = package_version(package)
    env["espnet2_ext"] = espnet2_ext.__version__
    commit = _git(repo, "rev-parse", "HEAD")
    env["git hash"] = commit or "unknown"
    status = _git(repo, "status", "--porcelain", "--untracked-files=no")
    if commit is None or status is None:
        env["git tree"] = "unknown"
    else:
        env["git tree"] = "dirty" if status else "clean"
    env["commit date"] = (
        commit and _git(repo, "log", "-1", "--format=%cd")
    ) or "unknown"
    env["gpu"] = gpus()
    return env


def environment_lines(env: Dict[str, str]) -> List[str]:
    return [f"- {key}: {value}" for key, value in env.items()]
