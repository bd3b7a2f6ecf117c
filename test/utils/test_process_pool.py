"""The process pool: results in order, job errors re-raised once, dead workers named."""

import os
import signal
import time

import pytest

from espnet2_ext.utils import process_pool
from espnet2_ext.utils.process_pool import WorkerDied, map_in_processes


def _square(x: int) -> int:
    return x * x


def _job(x: str) -> str:
    if x == "die":
        os.kill(os.getpid(), signal.SIGKILL)
    if x == "fail":
        raise ValueError("data/x/wav.scp:2: broken - fix it")
    time.sleep(0.2)
    return x.upper()


def test_results_come_back_in_job_order():
    assert map_in_processes(_square, list(range(7)), 2, describe=str) == [
        0,
        1,
        4,
        9,
        16,
        25,
        36,
    ]


def test_progress_is_called_once_per_job():
    calls = []
    map_in_processes(
        _square, [1, 2, 3], 2, describe=str, progress=lambda: calls.append(1)
    )
    assert len(calls) == 3


def test_a_job_error_is_raised_as_itself():
    with pytest.raises(ValueError, match=r"^data/x/wav.scp:2: broken - fix it$"):
        map_in_processes(_job, ["a", "fail", "b"], 2, describe=str)


def test_a_killed_worker_ends_the_map_at_once_naming_its_job():
    jobs = ["a", "b", "die", "c", "d", "e", "f", "g"]
    start = time.monotonic()
    with pytest.raises(WorkerDied) as info:
        map_in_processes(_job, jobs, 2, describe=lambda j: f"job '{j}'")
    assert time.monotonic() - start < 30  # seconds, not a hang (spawn start included)
    message = str(info.value)
    assert message.startswith("a worker process died while running job 'die' (pid ")
    assert ", killed by SIGKILL)" in message
    assert "job 'a'" not in message and "job 'c'" not in message


class _Reaped:
    """A worker process as the parent sees it: ``join`` and ``exitcode`` only."""

    def __init__(self, exitcode):
        self.exitcode = exitcode

    def join(self, timeout=None):
        pass


def test_a_worker_without_a_known_exit_is_named_and_a_terminated_one_is_not():
    # The executor terminates the survivors (SIGTERM); a worker whose exit code
    # could not be read is still a suspect, a terminated one is not.
    processes = {11: _Reaped(-signal.SIGTERM), 12: _Reaped(None)}
    error = process_pool._worker_died(
        processes, ["a", "b"], [11, 12], [0, 1], describe=lambda j: f"job '{j}'"
    )
    assert str(error).startswith(
        "a worker process died while running job 'b' (pid 12, exit code None) - "
    )


def test_when_every_worker_was_terminated_every_job_in_flight_is_named():
    processes = {11: _Reaped(-signal.SIGTERM), 12: _Reaped(-signal.SIGTERM)}
    error = process_pool._worker_died(
        processes, ["a", "b"], [11, 12], [0, 1], describe=lambda j: f"job '{j}'"
    )
    assert str(error).startswith(
        "a worker process died while running job 'a' (pid 11, killed by SIGTERM)"
        " or job 'b' (pid 12, killed by SIGTERM) - "
    )
