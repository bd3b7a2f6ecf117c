"""utils/parse_options.sh (Kaldi semantics) and utils/print_options.sh."""

import subprocess
from pathlib import Path

import pytest

COMMON = Path(__file__).resolve().parents[2] / "egs2" / "TEMPLATE" / "common"

SCRIPT = """#!/usr/bin/env bash
set -euo pipefail
nj=1
foo_bar=
if true; then
    indented=a   # set inside an if
fi
help_message="Usage: $0 [options] ARGS"
. utils/parse_options.sh
echo "nj=${nj} foo_bar=${foo_bar} indented=${indented} rest=$*"
"""


@pytest.fixture
def recipe(tmp_path):
    (tmp_path / "utils").symlink_to(COMMON / "utils")
    (tmp_path / "s.sh").write_text(SCRIPT)
    return tmp_path


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "s.sh", *args], cwd=cwd, capture_output=True, text=True, check=False
    )


def test_an_option_set_indented_inside_an_if(recipe):
    p = run(recipe, "--indented", "b")
    assert p.returncode == 0, p.stderr
    assert p.stdout == "nj=1 foo_bar= indented=b rest=\n"


@pytest.mark.parametrize(
    "args", [["--foo-bar", "v"], ["--foo_bar", "v"], ["--foo-bar=v"], ["--foo_bar=v"]]
)
def test_dashes_underscores_and_equals(recipe, args):
    p = run(recipe, *args, "pos", "--nj", "9")
    assert p.returncode == 0, p.stderr
    assert p.stdout == "nj=1 foo_bar=v indented=a rest=pos --nj 9\n"


def test_an_equals_value_may_hold_equals_and_blanks(recipe):
    p = run(recipe, "--foo-bar=a=b c")
    assert p.stdout == "nj=1 foo_bar=a=b c indented=a rest=\n"


def test_config_is_read_first_and_the_command_line_wins(recipe):
    (recipe / "c.conf").write_text("nj=5\nfoo_bar='from conf'\n")
    p = run(recipe, "--nj", "7", "--config", "c.conf", "x")
    assert p.returncode == 0, p.stderr
    assert p.stdout == "nj=7 foo_bar=from conf indented=a rest=x\n"


def test_a_missing_config_is_an_error(recipe):
    p = run(recipe, "--config", "missing.conf")
    assert p.returncode == 1
    assert "--config missing.conf: no such file" in p.stderr


@pytest.mark.parametrize("opt", ["--no-such", "--no_such=1", "--PATH", "--_po_name"])
def test_an_unknown_option_exits_1_with_the_message_and_help(recipe, opt):
    p = run(recipe, opt, "x")
    assert p.returncode == 1
    assert f"parse_options.sh: unknown option {opt.split('=')[0]} " in p.stderr
    assert "Usage: s.sh [options] ARGS" in p.stderr
    assert p.stdout == ""


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_prints_help_message_and_exits_0(recipe, flag):
    p = run(recipe, "--nj", "2", flag)
    assert (p.returncode, p.stdout) == (0, "Usage: s.sh [options] ARGS\n")


def test_print_options_lists_indented_options_up_to_parse_options(recipe):
    p = subprocess.run(
        ["bash", str(COMMON / "utils" / "print_options.sh"), "s.sh"],
        cwd=recipe,
        capture_output=True,
        text=True,
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == [
        "Options (default values):",
        "    --nj                       1",
        '    --foo_bar                  ""',
        "    --indented                 a              # set inside an if",
    ]


def test_an_option_the_user_exported_is_still_an_option(recipe):
    p = subprocess.run(
        ["bash", "s.sh", "--nj", "3"],
        cwd=recipe,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "nj": "8"},
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout == "nj=3 foo_bar= indented=a rest=\n"
