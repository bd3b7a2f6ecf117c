"""A process pool that cannot hang: a worker that dies ends the map with an error.

``multiprocessing.Pool`` silently replaces a worker killed by a signal (the OOM
killer, a ``kill -9``) and then waits forever for the task it lost.
``concurrent.futures.ProcessPoolExecutor`` instead breaks at once
(``BrokenProcessPool``); :func:`map_in_processes` builds on it and adds what the
user needs to know: which job the dead worker was running. Each worker claims a slot
in a shared array when it starts and writes the index of the job it begins there, so
the parent can name the job of a worker that is gone.

Workers are started with ``spawn`` (the parent may hold torch threads that a fork
would deadlock). An exception raised by a job is re-raised once in the parent, as
itself; the jobs not yet started are cancelled.

Example::

    >>> results = map_in_processes(str.upper, ["a", "b"], nj=2, describe=repr)
    >>> results
    ['A', 'B']
"""

import multiprocessing
import os
import signal
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Callable, Dict, List, Optional, Sequence, TypeVar

Job = TypeVar("Job")
Result = TypeVar("Result")

_NO_JOB = -1
# Set in each worker by _claim_slot: (slot, job array).
_worker_slot = None


class WorkerDied(RuntimeError):
    """A worker process ended abruptly (killed by a signal or ``os._exit``)."""


def _claim_slot(counter, pids, current) -> None:
    global _worker_slot
    with counter.get_lock():
        slot = counter.value
        counter.value += 1
    pids[slot] = os.getpid()
    _worker_slot = (slot, current)


def _run_job(fn: Callable, index: int, job):
    slot, current = _worker_slot
    current[slot] = index
    try:
        return fn(job)
    finally:
        current[slot] = _NO_JOB


def map_in_processes(
    fn: Callable[[Job], Result],
    jobs: Sequence[Job],
    nj: int,
    describe: Callable[[Job], str],
    progress: Optional[Callable[[], None]] = None,
) -> List[Result]:
    """``[fn(job) for job in jobs]`` in ``nj`` worker processes, in job order.

    Args:
        fn: a picklable (module-level) function of one job.
        jobs: picklable jobs.
        nj: number of worker processes (at most ``len(jobs)`` are started).
        describe: names a job for the user, e.g. ``"data/train/wav.scp:12 ('utt3')"``.
        progress: called once per finished job (e.g. a progress bar's ``update``).

    Returns:
        The results, in the order of ``jobs``.

    Raises:
        WorkerDied: a worker ended abruptly; the message names the job(s) it was
            running (``describe``) and the exit status where known.
        Exception: the first exception a job raised, as raised in the worker.
    """
    ctx = multiprocessing.get_context("spawn")
    workers = max(1, min(nj, len(jobs)))
    counter = ctx.Value("i", 0)
    pids = ctx.Array("q", [0] * workers, lock=False)
    current = ctx.Array("q", [_NO_JOB] * workers, lock=False)
    results: List[Result] = [None] * len(jobs)
    executor = ProcessPoolExecutor(
        workers,
        mp_context=ctx,
        initializer=_claim_slot,
        initargs=(counter, pids, current),
    )
    try:
        futures = {
            executor.submit(_run_job, fn, i, job): i for i, job in enumerate(jobs)
        }
        # Every worker is started by now; a broken executor forgets them.
        processes = dict(getattr(executor, "_processes", None) or {})
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_EXCEPTION)
            for future in done:
                error = future.exception()
                if isinstance(error, BrokenProcessPool):
                    # The executor's manager thread reaps the workers; reading
                    # exit codes while it does races with it (a worker reaped
                    # there reads as "no exit code" here), so wait for it first.
                    executor.shutdown(wait=True, cancel_futures=True)
                    raise _worker_died(
                        processes, jobs, pids, current, describe
                    ) from None
                if error is not None:
                    raise error
                results[futures[future]] = future.result()
                if progress is not None:
                    progress()
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
    return results


def _exit_codes(processes: Dict[int, multiprocessing.Process]) -> Dict[int, int]:
    """``{pid: exit code}`` of the workers (negative: killed by that signal).

    ``processes`` is the executor's process table (``_processes``, present in every
    CPython since 3.2; empty if a future version drops it), read while the pool ran.
    Called after the executor has shut down, so the workers are already reaped; the
    join (up to 5 s each) only guards a future CPython that reaps them later.
    """
    for process in processes.values():
        process.join(timeout=5)
    return {pid: p.exitcode for pid, p in processes.items()}


def _describe_exit(code: Optional[int]) -> str:
    if code is None or code >= 0:
        return f"exit code {code}"
    try:
        return f"killed by {signal.Signals(-code).name}"
    except ValueError:
        return f"killed by signal {-code}"


def _worker_died(processes, jobs, pids, current, describe) -> WorkerDied:
    """The error naming the job(s) of the worker(s) that died.

    When one worker dies the executor terminates the others (SIGTERM); the jobs of
    the workers not known to have ended that way (or cleanly) are the ones named.
    If every worker in flight reads as terminated, every job in flight is named.
    """
    codes = _exit_codes(processes)
    in_flight = [
        (pid, index) for pid, index in zip(list(pids), list(current)) if index >= 0
    ]
    died = [
        (pid, index)
        for pid, index in in_flight
        if codes.get(pid) not in (0, -signal.SIGTERM)
    ]
    named = [
        f"{describe(jobs[index])} (pid {pid}, {_describe_exit(codes.get(pid))})"
        for pid, index in died or in_flight
    ]
    what = " or ".join(named) or "no job"
    return WorkerDied(
        f"a worker process died while running {what} - its outputs are incomplete"
        " and are redone on a rerun; if it was killed for memory, lower --nj"
    )
