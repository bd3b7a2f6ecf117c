"""The epoch-progress follower on train.log files in ESPnet 202611's real format.

The log lines are made by ESPnet's own ``Reporter.log_message`` and
``check_early_stopping``, formatted with the format string of
``espnet2/tasks/abs_task.py``; the trainer's other messages are its f-strings.
"""

import datetime
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from espnet2.train.reporter import Reporter

from espnet2_ext.stages import progress

ROOT = Path(__file__).resolve().parents[2]
FORMAT = "[host] %(asctime)s (%(module)s:%(lineno)d) %(levelname)s: %(message)s"
T0 = datetime.datetime(2026, 12, 2, 10, 0, 0).timestamp()


def espnet_line(seconds: float, message: str, base: float = T0) -> str:
    """``message`` as ESPnet's logging writes it, ``seconds`` after ``base``."""
    record = logging.LogRecord(
        "root", logging.INFO, "/x/trainer.py", 392, message, None, None
    )
    record.created = base + seconds
    record.msecs = round((record.created % 1) * 1000)
    return logging.Formatter(FORMAT).format(record) + "\n"


class _Capture:
    def __init__(self):
        self.messages = []

    def info(self, message):
        self.messages.append(message)


class FakeRun:
    """An ESPnet training as its log tells it: the reporter is ESPnet's own."""

    def __init__(self, max_epoch: int, base: float = T0):
        self.max_epoch, self.base = max_epoch, base
        self.reporter = Reporter()
        self.lines = []

    def log(self, seconds, message):
        self.lines.append(espnet_line(seconds, message, self.base))

    def epoch(self, start, end, train_loss, valid_acc, patience=None):
        epoch = self.reporter.get_epoch() + 1
        self.log(start, f"{epoch}/{self.max_epoch}epoch started")
        self.reporter.set_epoch(epoch)
        with self.reporter.observe("train") as sub:
            sub.register({"loss": torch.tensor(train_loss), "acc": torch.tensor(0.5)})
            sub.next()
        with self.reporter.observe("valid") as sub:
            sub.register({"loss": torch.tensor(9.0), "acc": torch.tensor(valid_acc)})
            sub.next()
        self.log(end, self.reporter.log_message())
        if patience is not None:
            logger = _Capture()
            if self.reporter.check_early_stopping(
                patience, "valid", "acc", "max", logger=logger
            ):
                self.log(end + 0.5, logger.messages[0])


def run_once(log: Path, *args: str, capsys) -> list:
    progress.main([str(log), "--once", *args])
    return capsys.readouterr().err.splitlines()


def test_results_line_of_the_real_reporter_is_parsed():
    run = FakeRun(10)
    run.epoch(0, 130, 45.2109, 0.7123)
    stamp, message = progress.split_prefix(run.lines[1])
    assert stamp == pytest.approx(T0 + 130)
    assert message.startswith("1epoch results: [train] loss=45.211, acc=0.500, time=")
    stats = progress.parse_results(message.split("results: ", 1)[1])
    assert stats["train"]["loss"] == pytest.approx(45.211)
    assert stats["valid"]["acc"] == pytest.approx(0.712)
    assert stats["valid"]["total_count"] == 1.0
    assert sorted(stats) == ["train", "valid"]


def test_humanfriendly_timespans_and_clock():
    assert progress.timespan_seconds("1 hour, 2 minutes and 3.5 seconds") == 3723.5
    assert progress.timespan_seconds("1 minute and 1 second") == 61.0
    assert progress.timespan_seconds("12.34 milliseconds") == pytest.approx(0.01234)
    assert [progress.clock(s) for s in (0.4, 59.4, 59.6, 130, 3725)] == [
        "0s",
        "59s",
        "1m00s",
        "2m10s",
        "1h02m",
    ]


def test_eta_is_the_mean_epoch_time_times_the_epochs_left():
    p = progress.Progress("m", max_epoch=10, durations=[60.0, 90.0])
    stats = {"train": {"loss": 3.14159}, "valid": {"loss": 2.5}}
    # elapsed 150 s; mean 75 s x (10 - 2) epochs = 600 s; no valid acc: valid loss
    assert p.epoch_line(2, stats) == (
        "[m] epoch 2/10: train loss 3.14, valid loss 2.50, elapsed 2m30s, left ~10m00s"
    )
    assert p.epoch_line(10, stats).endswith("elapsed 2m30s, left ~0s")


def test_fixture_log_one_line_per_epoch_then_early_stopping(tmp_path, capsys):
    run = FakeRun(10)
    run.lines.append("# python -m espnet2_ext.bin.st_train ...\n# Started at x\n#\n")
    run.log(-20, "Vocabulary size: 300")
    # epoch 1: 130 s from its start; 2 and 3: 130 and 140 s from the previous end
    run.epoch(0, 130, 45.2109, 0.7123, patience=1)
    run.log(130.2, "The best model has been updated: valid.acc")
    run.epoch(131, 260, 30.0, 0.70, patience=1)
    run.epoch(261, 400, 25.5, 0.69, patience=1)
    log = tmp_path / "st_fbank_only_de" / "train.log"
    log.parent.mkdir()
    log.write_text("".join(run.lines))
    assert run_once(log, "--tag", "fbank_only_de", capsys=capsys) == [
        "[fbank_only_de] epoch 1/10: train loss 45.21, valid acc 0.712, "
        "elapsed 2m10s, left ~19m30s",
        "[fbank_only_de] epoch 2/10: train loss 30.00, valid acc 0.700, "
        "elapsed 4m20s, left ~17m20s",
        # 400 s / 3 epochs x 7 = 933.3 s
        "[fbank_only_de] epoch 3/10: train loss 25.50, valid acc 0.690, "
        "elapsed 6m40s, left ~15m33s",
        "[fbank_only_de] stopped at epoch 3/10: valid.acc not improved for 2 epochs",
    ]


def test_resumed_log_counts_both_runs_but_not_the_pause(tmp_path, capsys):
    run = FakeRun(4)
    run.epoch(0, 100, 5.0, 0.3)
    run.epoch(101, 200, 4.0, 0.4)
    run.lines += [
        "Traceback (most recent call last):\n",
        '  File "x.py", line 1, in <module>\n',
        "RuntimeError: CUDA out of memory\n",
        "# Accounting: time=201 threads=1\n",
        "# Ended (code 1) at x, elapsed time 201 seconds\n",
        "# python -m espnet2_ext.bin.st_train ...\n",
        "# Started at y\n",
    ]
    # an hour later, resumed from checkpoint.pth
    run.log(3600, "The training was resumed using exp/x/checkpoint.pth")
    run.epoch(3610, 3730, 3.0, 0.5)  # 120 s from its start
    run.epoch(3731, 3850, 2.0, 0.6)  # 120 s
    run.log(3851, "The training was finished at 4 epochs ")
    log = tmp_path / "train.log"
    log.write_text("".join(run.lines))
    assert run_once(log, "--tag", "x", capsys=capsys) == [
        "[x] epoch 1/4: train loss 5.00, valid acc 0.300, elapsed 1m40s, left ~5m00s",
        "[x] epoch 2/4: train loss 4.00, valid acc 0.400, elapsed 3m20s, left ~3m20s",
        "[x] training failed after epoch 2/4 (exit code 1): "
        "RuntimeError: CUDA out of memory",
        "[x] resumed: epoch 3/4 starts",
        # (100 + 100 + 120) s / 3 = 106.7 s per epoch, 1 left
        "[x] epoch 3/4: train loss 3.00, valid acc 0.500, elapsed 5m20s, left ~1m47s",
        "[x] epoch 4/4: train loss 2.00, valid acc 0.600, elapsed 7m20s, left ~0s",
        "[x] finished after epoch 4/4: 7m20s of training in this log",
    ]


def test_max_epoch_from_config_and_times_from_the_results_line(tmp_path, capsys):
    # a log without ESPnet's prefix (another logging format): the epoch's own times
    log = tmp_path / "train.log"
    log.write_text(
        "3epoch results: [train] loss=12.000, time=1 minute and 30 seconds, "
        "total_count=4, [valid] loss=2.000, acc=0.250, time=30 seconds\n"
    )
    (tmp_path / "config.yaml").write_text("max_epoch: 5\nother: [1, 2]\n")
    assert run_once(log, "--tag", "y", capsys=capsys) == [
        "[y] epoch 3/5: train loss 12.00, valid acc 0.250, elapsed 2m00s, left ~4m00s"
    ]


def test_since_hides_the_previous_run_but_keeps_its_timing(tmp_path, capsys):
    run = FakeRun(3)
    run.epoch(0, 60, 5.0, 0.3)
    run.log(100, "The training was resumed using exp/x/checkpoint.pth")
    run.epoch(110, 200, 4.0, 0.4)  # 90 s
    log = tmp_path / "train.log"
    log.write_text("".join(run.lines))
    since = str(T0 + 100)
    assert run_once(log, "--tag", "x", "--since", since, capsys=capsys) == [
        "[x] resumed: epoch 2/3 starts",
        "[x] epoch 2/3: train loss 4.00, valid acc 0.400, elapsed 2m30s, left ~1m15s",
    ]


def _follower(log: Path, *args: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen(
        [sys.executable, "-m", "espnet2_ext.stages.progress", str(log), "--tag", "x"]
        + ["--poll", "0.05", *args],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_follower_reads_the_rotated_log_and_stops_on_sigterm(tmp_path):
    old = FakeRun(2)
    old.epoch(0, 60, 9.0, 0.1)  # the previous run's log, logged long ago
    log = tmp_path / "train.log"
    log.write_text("".join(old.lines))
    follower = _follower(log, "--since", str(T0 + 1000))
    # espnet2.bin.launch rotates the old log, then the new run writes its own
    fds = Path(f"/proc/{follower.pid}/fd")
    _wait_for(lambda: any(os.path.realpath(fd) == str(log) for fd in fds.iterdir()))
    log.rename(tmp_path / "train.1.log")
    new = FakeRun(2)
    new.epoch(1000, 1050, 7.0, 0.2)
    with log.open("w") as f:
        f.write(new.lines[0])
        f.write(new.lines[1][:20])  # a line written in two parts
        f.flush()
        time.sleep(0.5)
        f.write(new.lines[1][20:])
    follower.send_signal(signal.SIGTERM)
    _, err = follower.communicate(timeout=30)
    assert follower.returncode == 0
    assert err.splitlines() == [
        "[x] epoch 1/2: train loss 7.00, valid acc 0.200, elapsed 50s, left ~50s",
        f"[x] training ended after epoch 1/2 without finishing; see {log}",
    ]


def test_follower_exits_when_the_watched_process_ends(tmp_path):
    run = FakeRun(1)
    run.epoch(0, 10, 1.0, 0.9)
    run.log(11, "The training was finished at 1 epochs ")
    log = tmp_path / "train.log"
    log.write_text("".join(run.lines))
    sleeper = subprocess.Popen(["sleep", "60"])
    follower = _follower(log, "--pid", str(sleeper.pid))
    time.sleep(1.0)
    assert follower.poll() is None  # still following while the process runs
    sleeper.kill()
    sleeper.wait()
    _, err = follower.communicate(timeout=30)
    assert follower.returncode == 0
    assert err.splitlines() == [
        "[x] epoch 1/1: train loss 1.00, valid acc 0.900, elapsed 10s, left ~0s",
        "[x] finished after epoch 1/1: 10s of training in this log",
    ]


COMMON = ROOT / "egs2" / "TEMPLATE" / "common"

FAKE_PYTHON = """#!/usr/bin/env bash
# espnet2.bin.launch: writes {log} as train.log, waits until stderr shows $FAKE_WAIT
# (the follower's line of epoch 2), exits with $FAKE_RC; else: the real python.
if [ "$1 $2" = "-m espnet2.bin.launch" ]; then
    while [ "$1" != --log ]; do shift; done
    [ -n "${{FAKE_HANG:-}}" ] && echo $$ > {pidfile} && exec sleep 60
    cp {log} "$2"
    for _ in $(seq 600); do
        grep -q "${{FAKE_WAIT:-epoch 2/2}}" {stderr} && break
        sleep 0.05
    done
    [ "$FAKE_RC" = 0 ] && touch "$(dirname "$2")/valid.acc.ave.pth"
    exit "$FAKE_RC"
fi
if [ "$1 $2" = "-m espnet2_ext.stages.progress" ] && [ -n "${{FAKE_BROKEN:-}}" ]; then
    echo "progress: broken" >&2
    exit 9
fi
PYTHONPATH={root} exec {python} "$@"
"""

STAGE11 = """set -euo pipefail
python={fake}; ngpu=0; num_nodes=1; cuda_cmd=run.pl
inference_model=valid.acc.ave.pth
. {common}/stages.sh
launch_training espnet2_ext.bin.st_train {exp} st_x --config c.yaml
echo "after training"
"""


def _processes_naming(text: str) -> list:
    """Pids of the processes whose command line contains ``text``."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if text.encode() in cmdline.read_bytes():
                found.append(int(cmdline.parent.name))
        except OSError:
            pass
    return found


@pytest.fixture
def stage11(tmp_path):
    """``launch_training`` of stages.sh with a fake espnet2.bin.launch."""
    run = FakeRun(2, base=time.time() + 5)  # logged after the follower's --since
    run.epoch(0, 30, 4.0, 0.25)
    run.epoch(31, 60, 3.0, 0.5)
    run.log(61, "The training was finished at 2 epochs ")
    log = tmp_path / "fixture.log"
    log.write_text("".join(run.lines))
    stderr = tmp_path / "stderr"
    fake = tmp_path / "python"
    fake.write_text(
        FAKE_PYTHON.format(
            log=log,
            stderr=stderr,
            root=ROOT,
            python=sys.executable,
            pidfile=tmp_path / "launch.pid",
        )
    )
    fake.chmod(0o755)
    exp = tmp_path / "exp" / "st_x"
    script = STAGE11.format(fake=fake, common=COMMON, exp=exp)

    def run_stage11(**env):
        with stderr.open("w") as err:
            p = subprocess.Popen(
                ["bash", "-c", script],
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
                env={**os.environ, "FAKE_RC": "0", **env},
            )
        return p, stderr, exp

    return run_stage11


EPOCH_LINES = [
    "[st_x] epoch 1/2: train loss 4.00, valid acc 0.250, elapsed 30s, left ~30s",
    "[st_x] epoch 2/2: train loss 3.00, valid acc 0.500, elapsed 1m00s, left ~0s",
    "[st_x] finished after epoch 2/2: 1m00s of training in this log",
]


def test_stage11_prints_epochs_and_leaves_no_follower(stage11):
    p, stderr, exp = stage11()
    out, _ = p.communicate(timeout=120)
    assert p.returncode == 0, stderr.read_text()
    assert out == "after training\n"
    assert stderr.read_text().splitlines() == EPOCH_LINES
    assert _processes_naming(f"{exp}/train.log") == []


def test_stage11_keeps_the_training_status(stage11):
    p, stderr, exp = stage11(FAKE_RC="3")
    out, _ = p.communicate(timeout=120)
    assert p.returncode == 3
    assert out == ""
    assert stderr.read_text().splitlines()[:2] == EPOCH_LINES[:2]
    assert _processes_naming(f"{exp}/train.log") == []


def test_stage11_a_broken_follower_does_not_fail_training(stage11, tmp_path):
    p, stderr, exp = stage11(FAKE_BROKEN="1", FAKE_WAIT="progress: broken")
    out, _ = p.communicate(timeout=120)
    assert p.returncode == 0
    assert out == "after training\n"
    assert stderr.read_text() == "progress: broken\n"


def test_stage11_follower_ends_with_a_killed_driver(stage11, tmp_path):
    p, stderr, exp = stage11(FAKE_HANG="1")
    pidfile, log = tmp_path / "launch.pid", f"{exp}/train.log"
    _wait_for(lambda: _processes_naming(log) and pidfile.exists())
    p.kill()  # SIGKILL: no trap runs; the follower sees its --pid gone
    p.wait()
    try:
        _wait_for(lambda: not _processes_naming(log), timeout=30)
    finally:
        os.kill(int(pidfile.read_text()), signal.SIGKILL)  # the fake training


def test_a_ctc_only_model_shows_valid_loss_and_cer_not_nan_acc():
    p = progress.Progress("m", max_epoch=4, durations=[10.0])
    stats = {
        "train": {"loss": 15.19},
        "valid": {"loss": 12.5, "acc": float("nan"), "cer_ctc": 0.8123},
    }
    assert p.epoch_line(1, stats) == (
        "[m] epoch 1/4: train loss 15.19, valid loss 12.50, valid CER 81.2%, "
        "elapsed 10s, left ~30s"
    )
