"""The run.pl-convention job runner: parsing, JOB substitution, logs, failures."""

import os
import stat
from pathlib import Path

import pytest

from espnet2_ext.stages.jobs import (
    DEFAULT_SLURM_CONF,
    load_slurm_conf,
    main,
    parse_args,
    slurm_command,
)


def test_parse_options_range_log_and_command():
    spec = parse_args(
        ["--gpu", "1", "--mem", "4G", "--num-threads", "2", "JOB=2:4",
         "exp/log/x.JOB.log", "echo", "part JOB"]
    )  # fmt: skip
    assert spec.options == {"gpu": 1, "mem": "4G", "num_threads": 2}
    assert (spec.var, list(spec.job_ids())) == ("JOB", [2, 3, 4])
    log, command = spec.expand(3)
    assert str(log) == "exp/log/x.3.log"
    assert command == "echo 'part 3'"


def test_espnet_launch_form_without_a_range():
    spec = parse_args(["--gpu", "0", "exp/train.log", "python", "-m", "x", "--a", "1"])
    assert list(spec.job_ids()) == [1]
    assert spec.expand(1) == (Path("exp/train.log"), "python -m x --a 1")


def test_job_name_is_replaced_only_as_a_word():
    spec = parse_args(["JOB=1:2", "l.JOB", "echo", "JOBS", "JOB", "xJOB"])
    assert spec.expand(2)[1] == "echo JOBS 2 xJOB"


def test_usage_errors():
    with pytest.raises(ValueError, match="unknown option --cpus"):
        parse_args(["--cpus", "2", "log", "cmd"])
    with pytest.raises(ValueError, match="usage: run.pl"):
        parse_args(["JOB=1:2", "log"])
    with pytest.raises(ValueError, match="empty job range"):
        parse_args(["JOB=3:2", "log", "cmd"])


def test_local_runs_every_job_with_kaldi_log_framing(tmp_path):
    with pytest.raises(SystemExit) as done:
        main(["JOB=1:3", str(tmp_path / "log.JOB"), "echo", "hello JOB"])
    assert done.value.code == 0
    for j in (1, 2, 3):
        lines = (tmp_path / f"log.{j}").read_text().splitlines()
        assert lines[0] == f"# echo 'hello {j}'"
        assert f"hello {j}" in lines
        assert lines[-1].startswith("# Ended (code 0) at")


def test_failed_job_names_its_log_and_shows_its_tail(tmp_path, capsys):
    with pytest.raises(SystemExit) as done:
        main(
            ["JOB=1:2", str(tmp_path / "log.JOB"), "bash", "-c",
             "echo boom-JOB; test JOB -eq 1"]
        )  # fmt: skip
    assert done.value.code == 1
    err = capsys.readouterr().err
    assert f"local: 1 / 2 failed, log is in {tmp_path / 'log.2'}" in err
    assert "boom-2" in err
    assert "# Ended (code 1)" in (tmp_path / "log.2").read_text()


# A stand-in sbatch: records its argv and job script, then runs the array's tasks
# one after the other with SLURM_ARRAY_TASK_ID set, exiting 1 if one failed (--wait).
FAKE_SBATCH = """#!/usr/bin/env bash
record=$(dirname "$0")/record
echo "argv: $*" >> "$record"
script=${@: -1}
cat "$script" >> "$record"
for a; do case $a in --array=*) range=${a#--array=}; range=${range%%%*};; esac; done
code=0
for ((t = ${range%-*}; t <= ${range#*-}; t++)); do
    SLURM_ARRAY_TASK_ID=$t bash "$script" || code=1
done
exit $code
"""


@pytest.fixture
def sbatch(tmp_path, monkeypatch):
    fake = tmp_path / "bin" / "sbatch"
    fake.parent.mkdir()
    fake.write_text(FAKE_SBATCH)
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    recipe = tmp_path / "recipe"
    (recipe / "conf").mkdir(parents=True)
    (recipe / "conf" / "slurm.conf").write_text(
        DEFAULT_SLURM_CONF.read_text().replace(
            "command sbatch --export=ALL", "command sbatch --export=ALL -p site"
        )
    )
    monkeypatch.chdir(recipe)
    return fake.parent / "record"


def test_slurm_command_maps_options_through_slurm_conf(tmp_path):
    spec = parse_args(
        ["--gpu", "2", "--mem", "8G", "--num_threads", "4", "--num_nodes", "2",
         "--name", "train", "--max_jobs_run", "3", "JOB=1:5", "s.JOB.log", "echo"]
    )  # fmt: skip
    conf = load_slurm_conf(DEFAULT_SLURM_CONF)
    assert slurm_command(spec, Path("q/train.sh"), conf) == [
        "sbatch", "--export=ALL", "--array=1-5%3", "--wait", "--job-name=train",
        "--output=q/train.%a.out", "--gres=gpu:2", "--mem=8G", "--cpus-per-task=4",
        "--nodes=2", "--ntasks-per-node=1", "q/train.sh",
    ]  # fmt: skip
    spec = parse_args(["--gpu", "0", "--mem", "0", "JOB=2:3", "l.JOB", "echo"])
    assert slurm_command(spec, Path("q/x.sh"), conf) == [
        "sbatch", "--export=ALL", "--array=2-3", "--wait", "--job-name=espnet2_ext",
        "--output=q/espnet2_ext.%a.out", "q/x.sh",
    ]  # fmt: skip


def test_slurm_runs_one_array_job_with_per_task_logs(tmp_path, sbatch):
    with pytest.raises(SystemExit) as done:
        main(
            ["--backend", "slurm", "--gpu", "1", "--mem", "4G", "--num_threads", "2",
             "JOB=1:3", str(tmp_path / "log" / "o.JOB"), "echo", "j=JOB"]
        )  # fmt: skip
    assert done.value.code == 0
    calls = [line for line in sbatch.read_text().splitlines() if line[:6] == "argv: "]
    assert len(calls) == 1
    argv = calls[0].split()
    assert argv[1:4] == ["--export=ALL", "-p", "site"]  # the recipe's slurm.conf
    for flag in ("--array=1-3", "--wait", "--mem=4G", "--cpus-per-task=2"):
        assert flag in argv
    assert "--gres=gpu:1" in argv
    assert "SLURM_ARRAY_TASK_ID" in sbatch.read_text()
    for j in (1, 2, 3):
        lines = (tmp_path / "log" / f"o.{j}").read_text().splitlines()
        assert lines[0] == f"# echo j={j}"
        assert f"j={j}" in lines
        assert lines[-1].startswith("# Ended (code 0) at")


def test_slurm_reports_each_failed_task_with_its_log_tail(tmp_path, sbatch, capsys):
    with pytest.raises(SystemExit) as done:
        main(
            ["--backend", "slurm", "JOB=1:3", str(tmp_path / "log.JOB"), "bash", "-c",
             "echo boom-JOB; test JOB -eq 2"]
        )  # fmt: skip
    assert done.value.code == 1
    err = capsys.readouterr().err
    assert f"slurm: 2 / 3 failed, log is in {tmp_path / 'log.1'}" in err
    assert "boom-1" in err and "boom-3" in err and "boom-2" not in err
    assert "# Ended (code 1)" in (tmp_path / "log.3").read_text()
    assert len(sbatch.read_text().split("argv: ")) == 2  # one submission


@pytest.mark.parametrize(
    "options, preset, expected",
    [
        ([], None, ["2", "2"]),  # 4 CPUs shared by 2 jobs
        (["--num_threads", "3"], None, ["3", "3"]),
        ([], "1", ["1", "1"]),  # the caller's setting is kept
    ],
)
def test_local_jobs_get_their_share_of_threads(
    tmp_path, monkeypatch, options, preset, expected
):
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    if preset is None:
        monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    else:
        monkeypatch.setenv("OMP_NUM_THREADS", preset)
    with pytest.raises(SystemExit) as done:
        main(
            options
            + [
                "JOB=1:2",
                str(tmp_path / "log.JOB"),
                "bash",
                "-c",
                "echo t=$OMP_NUM_THREADS",
            ]
        )
    assert done.value.code == 0
    for j, want in zip((1, 2), expected):
        lines = (tmp_path / f"log.{j}").read_text().splitlines()
        assert f"t={want}" in lines
        assert "# Accounting: time=" in lines[-2] and lines[-2].endswith(
            f"threads={want}"
        )
