"""The shell pieces of the drivers: utils/parse_options.sh, common/stages.sh, --help."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

TEMPLATE = Path(__file__).resolve().parents[2] / "egs2" / "TEMPLATE"
COMMON = TEMPLATE / "common"

SCRIPT = """#!/usr/bin/env bash
# A test script: its header is not a section.
set -euo pipefail

# General
stage=1            # first stage
test_sets="dev test"
# Data
some_name=         # e.g. "--x 1"
quoted="a # b"
_private=1
help_message="Usage: $0 [options]
$(utils/print_options.sh "$0")"
. utils/parse_options.sh
late=1
echo "stage=${stage} test_sets=${test_sets} some_name=${some_name} rest=$*"
"""


def run_bash(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", *args], cwd=cwd, capture_output=True, text=True, check=False
    )


@pytest.fixture
def recipe(tmp_path):
    (tmp_path / "utils").symlink_to(COMMON / "utils")
    (tmp_path / "s.sh").write_text(SCRIPT)
    return tmp_path


def test_help_lists_the_script_options_in_order_with_defaults(recipe):
    p = run_bash(recipe, "s.sh", "--help")
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == [
        "Usage: s.sh [options]",
        "Options (default values):",
        "  # General",
        "    --stage                    1              # first stage",
        '    --test_sets                "dev test"',
        "  # Data",
        '    --some_name                ""             # e.g. "--x 1"',
        '    --quoted                   "a # b"',
    ]


def test_help_shows_defaults_even_after_other_options(recipe):
    p = run_bash(recipe, "s.sh", "--stage", "7", "--help")
    assert "--stage                    1 " in p.stdout


def test_options_are_set_in_both_spellings(recipe):
    p = run_bash(
        recipe, "s.sh", "--stage", "3", "--some-name=--a b", "--test_sets", "x", "pos"
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout == "stage=3 test_sets=x some_name=--a b rest=pos\n"


@pytest.mark.parametrize("name", ["PATH", "HOME", "late", "help_message", "_private"])
def test_only_the_script_options_are_accepted(recipe, name):
    p = run_bash(recipe, "s.sh", f"--{name}", "x")
    assert p.returncode == 1
    assert f"unknown option --{name} (see s.sh --help)" in p.stderr


def test_an_option_without_value_is_an_error(recipe):
    p = run_bash(recipe, "s.sh", "--stage")
    assert p.returncode == 1 and "option --stage needs a value" in p.stderr


STAGES = """set -euo pipefail
stage=2; stop_stage=3; train_set=train; valid_set=dev; test_sets="dev test"
inference_model=valid.acc.ave.pth; python={python}
. {common}/stages.sh
hello() {{ echo "ran $1"; }}
s1() {{ hello 1; }}; s2() {{ hello 2; }}; s3() {{ hello 3; }}
run_stage 1 one s1
run_stage 2 two s2 {marker}
run_stage 3 three s3
echo "sets: $(all_sets | paste -sd ' ')"
echo "tokens: $(token_tag bpe 300 unigram) $(token_tag char 300 unigram)"
echo "decode: $(decode_dir exp/asr_x test)"
"""


def test_run_stage_range_markers_and_helpers(tmp_path):
    marker = tmp_path / "m" / ".done"
    script = STAGES.format(common=COMMON, marker=marker, python=sys.executable)
    first = subprocess.run(["bash", "-c", script], capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == [
        "ran 2",
        "ran 3",
        "sets: train dev test",
        "tokens: bpe_unigram300 char",
        "decode: exp/asr_x/decode_test_valid.acc.ave",
    ]
    assert marker.exists()
    assert re.search(r"\(stages\.sh:\d+:run_stage\) Stage 2: two\n", first.stderr)
    # the duration is whatever the (possibly loaded) machine took: pin only its form
    assert re.search(r"Stage 2: done in \d+ s\n", first.stderr)
    assert "Stage 1" not in first.stderr
    second = subprocess.run(["bash", "-c", script], capture_output=True, text=True)
    assert second.stdout.splitlines()[0] == "ran 3"
    assert f"Stage 2: two: already done ({marker}) - skipping\n" in second.stderr


STAMPED = """set -euo pipefail
stage=1; stop_stage=2; python={python}
. {common}/stages.sh
s1_inputs() {{ stamp_inputs in.txt; stamp_option lr "${{LR}}"; }}
s1() {{ echo "ran 1"; [ "${{FAIL:-0}}" = 0 ]; }}
s1_reset() {{ echo "reset 1"; }}
s2_inputs() {{ stamp_inputs m1/.done; }}
s2() {{ echo "ran 2"; }}
run_stage 1 one s1 m1/.done s1_inputs
run_stage 2 two s2 m2/.done s2_inputs
"""


def test_run_stage_reruns_a_stage_whose_inputs_changed_and_the_stages_after(tmp_path):
    script = STAMPED.format(common=COMMON, python=sys.executable)
    (tmp_path / "in.txt").write_text("a\n")

    def run(lr="0.1", fail="0"):
        env = {**os.environ, "LR": lr, "FAIL": fail}
        return subprocess.run(
            ["bash", "-c", script],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env=env,
        )

    first = run()
    assert first.returncode == 0, first.stderr
    assert first.stdout == "ran 1\nran 2\n"
    unchanged = run()
    assert unchanged.stdout == ""
    assert "Stage 1: one: already done (m1/.done) - skipping\n" in unchanged.stderr
    assert "Stage 2: two: already done (m2/.done) - skipping\n" in unchanged.stderr

    (tmp_path / "in.txt").write_text("b\n")
    edited = run()
    assert edited.stdout == "reset 1\nran 1\nran 2\n"
    assert "Stage 1: one: in.txt changed since it ran - running it again\n" in (
        edited.stderr
    )
    assert (
        "Stage 2: two: m1 was remade (in.txt changed) since it ran - running it again"
        in edited.stderr
    )

    option = run(lr="0.2")
    assert "Stage 1: one: option lr changed (0.1 -> 0.2) since it ran" in option.stderr
    assert option.stdout == "reset 1\nran 1\nran 2\n"

    failed = run(lr="0.3", fail="1")
    assert failed.returncode == 1 and failed.stdout == "reset 1\nran 1\n"
    assert not (tmp_path / "m1" / ".done").exists()  # written only on success
    resumed = run(lr="0.3")
    assert "Stage 1: one: resuming (same inputs as the interrupted run)" in (
        resumed.stderr
    )
    assert resumed.stdout == "ran 1\nran 2\n"  # no reset: same inputs


ASR_OPTIONS = (
    "stage stop_stage ngpu num_nodes nj inference_nj gpu_inference asr_config asr_args"
    " inference_config inference_args inference_asr_model lang token_listdir token_type"
    " nbpe bpemode"
    " train_set valid_set test_sets speed_perturb_factors min_wav_duration"
    " max_wav_duration asr_tag asr_exp pretrained_asr local_data_opts python"
).split()


ST_OPTIONS = (
    "stage stop_stage ngpu num_nodes nj inference_nj gpu_inference st_config st_args"
    " inference_config inference_args inference_st_model src_lang tgt_lang"
    " token_listdir src_token_type src_nbpe tgt_token_type tgt_nbpe src_bpemode"
    " tgt_bpemode train_set"
    " valid_set"
    " test_sets speed_perturb_factors min_wav_duration max_wav_duration st_tag st_exp"
    " pretrained_asr local_data_opts python score_case score_tokenize"
).split()


@pytest.mark.parametrize(
    "script, options, default_line",
    [
        (
            "asr1/asr.sh",
            ASR_OPTIONS,
            "    --inference_asr_model      valid.acc.ave.pth",
        ),
        ("st1/st.sh", ST_OPTIONS, "    --score_tokenize           13a"),
    ],
)
def test_driver_help_lists_every_option(tmp_path, script, options, default_line):
    (tmp_path / "utils").symlink_to(COMMON / "utils")
    p = run_bash(tmp_path, str(TEMPLATE / script), "--help")
    assert p.returncode == 0, p.stderr
    listed = re.findall(r"^    --(\w+)", p.stdout, flags=re.M)
    assert set(options) <= set(listed), set(options) - set(listed)
    assert default_line in p.stdout
    assert "--PATH" not in p.stdout


def test_st_sh_requires_an_existing_config(tmp_path):
    for name in ("utils", "path.sh", "cmd.sh"):
        (tmp_path / name).symlink_to(COMMON / name)
    p = run_bash(tmp_path, str(TEMPLATE / "st1" / "st.sh"), "--stage", "3")
    assert p.returncode == 1
    assert "error: --st_config is required" in p.stderr
    p = run_bash(tmp_path, str(TEMPLATE / "st1" / "st.sh"), "--st_config", "no.yaml")
    assert p.returncode == 1
    assert "error: --st_config no.yaml does not exist" in p.stderr
