"""A wheel of the package works without the checkout: its presets are package data.

Builds a wheel from the files an sdist carries, installs it with ``--no-deps`` into a
scratch folder on top of the test environment (which provides ESPnet and torch) and
runs the MuST-C presets from another directory, with nothing of the checkout on the
path.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SDIST_FILES = ("setup.py", "pyproject.toml", "README.md", "requirements.txt")


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The folder the wheel was installed into (``pip install --target``)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    for name in SDIST_FILES + ("requirements-dev.txt",):
        shutil.copy2(REPO / name, src / name)
    shutil.copytree(
        REPO / "espnet2_ext",
        src / "espnet2_ext",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(
        pip
        + [
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp / "dist"),
            str(src),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = (tmp / "dist").glob("espnet2_ext-*.whl")
    target = tmp / "site"
    subprocess.run(
        pip + ["install", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    return target


def _run(target: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(target)
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True
    )


def test_the_installed_package_is_not_the_checkout(installed, tmp_path):
    proc = _run(
        installed, tmp_path, "-c", "import espnet2_ext; print(espnet2_ext.__file__)"
    )
    assert proc.returncode == 0, proc.stderr
    assert Path(proc.stdout.strip()).parent == installed / "espnet2_ext"


def test_presets_list_and_compose_from_the_installed_package(installed, tmp_path):
    listed = _run(
        installed, tmp_path, "-m", "espnet2_ext.recipes.mustc.presets", "--list"
    )
    assert listed.returncode == 0, listed.stderr
    rows = [line.split(":")[0] for line in listed.stdout.splitlines()]
    assert rows[:2] == ["fbank_only", "ssl_only"] and "gsgn_drop" in rows
    out = tmp_path / "gsgn_drop.yaml"
    made = _run(
        installed,
        tmp_path,
        "-m",
        "espnet2_ext.recipes.mustc.presets",
        "--row",
        "gsgn_drop",
        "-o",
        str(out),
    )
    assert made.returncode == 0, made.stderr
    text = out.read_text()
    assert "frontend: multiview" in text and "branch_dropout" in text


def test_the_default_slurm_conf_is_installed(installed, tmp_path):
    code = (
        "from espnet2_ext.stages.jobs import load_slurm_conf, DEFAULT_SLURM_CONF;"
        "print(DEFAULT_SLURM_CONF); load_slurm_conf(DEFAULT_SLURM_CONF)"
    )
    proc = _run(installed, tmp_path, "-c", code)
    assert proc.returncode == 0, proc.stderr
    assert Path(proc.stdout.strip()).is_relative_to(installed)
