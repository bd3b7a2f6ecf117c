"""The run.pl-convention job runner: parsing, JOB substitution, logs, failures."""

import os
import stat

import pytest

from espnet2_ext.recipe.jobs import main, parse_args, slurm_command


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
    assert spec.expand(1) == (spec.expand(1)[0], "python -m x --a 1")
    assert str(spec.expand(1)[0]) == "exp/train.log"


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


def test_slurm_command_and_a_stand_in_sbatch(tmp_path, monkeypatch):
    spec = parse_args(
        ["--gpu", "2", "--mem", "8G", "--num_threads", "4", "--num_nodes", "2",
         "--name", "train", "JOB=1:1", str(tmp_path / "s.JOB.log"), "echo", "hi"]
    )  # fmt: skip
    assert slurm_command(spec, 1) == [
        "sbatch", "--wait", "--parsable", f"--output={tmp_path / 's.1.log'}",
        "--job-name=train", "--gres=gpu:2", "--mem=8G", "--cpus-per-task=4",
        "--nodes=2", "--ntasks-per-node=1", "--wrap=echo hi",
    ]  # fmt: skip
    # A stand-in sbatch that runs --wrap locally and writes --output, as Slurm would.
    fake = tmp_path / "bin" / "sbatch"
    fake.parent.mkdir()
    fake.write_text(
        "#!/usr/bin/env bash\nfor a; do case $a in --output=*) out=${a#--output=};;"
        ' --wrap=*) cmd=${a#--wrap=};; esac; done\nbash -c "$cmd" > "$out" 2>&1\n'
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(SystemExit) as done:
        main(
            ["--backend", "slurm", "JOB=1:2", str(tmp_path / "o.JOB"), "echo", "j=JOB"]
        )
    assert done.value.code == 0
    assert (tmp_path / "o.2").read_text() == "j=2\n"


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
