"""Kaldi-style job runners (``run.pl`` / ``slurm.pl`` calling convention) in Python.

Recipes run parallel work as ``${cmd} [options] JOB=1:N LOG COMMAND...``: every
occurrence of ``JOB`` in LOG and COMMAND is replaced by the job number, each job's
output goes to its own log. ``egs2/TEMPLATE/*/utils/run.pl`` and ``slurm.pl`` are thin
wrappers around this module, so a cluster's own ``slurm.pl`` / ``queue.pl`` can be
dropped in their place, and ``espnet2.bin.launch`` (which recognises ``slurm.pl`` by
name for multi-node training) works unchanged.

Options (Kaldi spelling with ``-`` or ``_``): ``--gpu N``, ``--mem 4G``,
``--num_threads N``, ``--num_nodes N``, ``--max_jobs_run N``, ``--time 1-00:00:00``,
``--name NAME``, ``--partition P``. The local backend ignores the resource options
except ``--max_jobs_run`` (default: number of CPUs) and ``--num_threads``: each of the
jobs running at once gets ``OMP_NUM_THREADS`` (``--num_threads``, else an equal share
of the CPUs) unless the caller has set it, so that two decoding jobs on two cores do
not each start two busy-waiting threads. On failure it prints the tail of the first
failed job's log and exits 1.

Usage::

    python -m espnet2_ext.recipe.jobs --backend local JOB=1:4 exp/log/x.JOB.log \\
        python -m some.module --part JOB
"""

import argparse
import datetime
import os
import re
import shlex
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

_JOB_RANGE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(\d+):(\d+)$")
_OPTIONS = {
    "gpu": int,
    "mem": str,
    "num_threads": int,
    "num_nodes": int,
    "max_jobs_run": int,
    "time": str,
    "name": str,
    "partition": str,
}


@dataclass
class JobSpec:
    """A parsed ``[options] [VAR=a:b] LOG COMMAND...`` request."""

    log: str
    command: List[str]
    var: str = "JOB"
    first: int = 1
    last: int = 1
    options: dict = field(default_factory=dict)
    has_range: bool = False

    def job_ids(self) -> range:
        return range(self.first, self.last + 1)

    def expand(self, job: int) -> Tuple[Path, str]:
        """Log path and shell command of job number ``job``."""
        pattern = re.compile(rf"\b{re.escape(self.var)}\b")

        def sub(text: str) -> str:
            return pattern.sub(str(job), text) if self.has_range else text

        command = " ".join(
            a if _is_shell_syntax(a) else shlex.quote(sub(a)) for a in self.command
        )
        return Path(sub(self.log)), command


def _is_shell_syntax(arg: str) -> bool:
    """Arguments kept unquoted so recipes can pass pipes and redirections."""
    return arg in ("|", "&&", "||", ";", ">", ">>", "<", "2>&1")


def parse_args(argv: Sequence[str]) -> JobSpec:
    """Parses the run.pl convention. Raises ValueError with a usage hint."""
    argv = list(argv)
    options = {}
    while argv and argv[0].startswith("--"):
        key = argv.pop(0)[2:].replace("-", "_")
        value = None
        if "=" in key:
            key, value = key.split("=", 1)
        if key not in _OPTIONS:
            raise ValueError(f"unknown option --{key}; known: {sorted(_OPTIONS)}")
        if value is None:
            if not argv:
                raise ValueError(f"--{key} needs a value")
            value = argv.pop(0)
        options[key] = _OPTIONS[key](value)
    spec = JobSpec(log="", command=[], options=options)
    if argv and _JOB_RANGE.match(argv[0]):
        var, first, last = _JOB_RANGE.match(argv.pop(0)).groups()
        spec.var, spec.first, spec.last, spec.has_range = (
            var,
            int(first),
            int(last),
            True,
        )
        if spec.first > spec.last:
            raise ValueError(f"empty job range {var}={first}:{last}")
    if len(argv) < 2:
        raise ValueError(
            "usage: run.pl [--gpu N] [--mem M] [--num_threads N] [JOB=1:N] "
            "LOG COMMAND..."
        )
    spec.log, spec.command = argv[0], argv[1:]
    return spec


def _now() -> str:
    return datetime.datetime.now().strftime("%a %b %d %H:%M:%S %Z %Y")


def thread_env(spec: JobSpec, concurrent: int) -> dict:
    """The environment of a local job: ``OMP_NUM_THREADS`` set to its CPU share.

    Args:
        spec: The request; its ``num_threads`` option wins over the share.
        concurrent: How many jobs run at the same time.
    """
    env = dict(os.environ)
    if "OMP_NUM_THREADS" not in env:
        share = max(1, (os.cpu_count() or 1) // max(1, concurrent))
        env["OMP_NUM_THREADS"] = str(spec.options.get("num_threads", share))
    return env


def run_local_job(spec: JobSpec, job: int, concurrent: int = 1) -> int:
    """Runs one job with bash, Kaldi-style log header/footer; returns its exit code."""
    log, command = spec.expand(job)
    log.parent.mkdir(parents=True, exist_ok=True)
    start = time.time()
    with open(log, "w", encoding="utf-8") as f:
        f.write(f"# {command}\n# Started at {_now()}\n#\n")
        f.flush()
        env = thread_env(spec, concurrent)
        code = subprocess.call(
            ["bash", "-c", command], stdout=f, stderr=subprocess.STDOUT, env=env
        )
        elapsed = int(time.time() - start)
        threads = env["OMP_NUM_THREADS"]
        f.write(f"# Accounting: time={elapsed} threads={threads}\n")
        f.write(f"# Ended (code {code}) at {_now()}, elapsed time {elapsed} seconds\n")
    return code


def slurm_command(spec: JobSpec, job: int) -> List[str]:
    """The ``sbatch --wait`` command that runs job ``job`` on Slurm."""
    log, command = spec.expand(job)
    o = spec.options
    args = ["sbatch", "--wait", "--parsable", f"--output={log}"]
    args.append(f"--job-name={o.get('name', 'espnet2_ext')}")
    if o.get("gpu", 0) > 0:
        args.append(f"--gres=gpu:{o['gpu']}")
    if "mem" in o:
        args.append(f"--mem={o['mem']}")
    if "num_threads" in o:
        args.append(f"--cpus-per-task={o['num_threads']}")
    if o.get("num_nodes", 1) > 1:
        args += [f"--nodes={o['num_nodes']}", "--ntasks-per-node=1"]
    if "time" in o:
        args.append(f"--time={o['time']}")
    if "partition" in o:
        args.append(f"--partition={o['partition']}")
    return args + [f"--wrap={command}"]


def run_slurm_job(spec: JobSpec, job: int, concurrent: int = 1) -> int:
    log, _ = spec.expand(job)
    log.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.call(slurm_command(spec, job), stdout=subprocess.DEVNULL)


RUNNERS = {"local": run_local_job, "slurm": run_slurm_job}


def run(spec: JobSpec, backend: str = "local") -> int:
    """Runs every job of ``spec``; returns 0 or 1 after reporting failures."""
    jobs = list(spec.job_ids())
    workers = spec.options.get("max_jobs_run", os.cpu_count() or 1)
    if backend == "slurm":
        workers = len(jobs)  # the scheduler queues them
    concurrent = max(1, min(workers, len(jobs)))
    with ThreadPoolExecutor(max_workers=concurrent) as pool:
        codes = list(pool.map(lambda j: RUNNERS[backend](spec, j, concurrent), jobs))
    failed = [j for j, c in zip(jobs, codes) if c != 0]
    if not failed:
        return 0
    log, _ = spec.expand(failed[0])
    print(
        f"{backend}: {len(failed)} / {len(jobs)} failed, log is in {log}",
        file=sys.stderr,
    )
    if log.exists():
        tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-20:]
        print("\n".join(f"  {line}" for line in tail), file=sys.stderr)
    return 1


def main(argv: Optional[List[str]] = None) -> None:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--backend", choices=sorted(RUNNERS), default="local")
    known, rest = parser.parse_known_args(argv[:2])
    rest = rest + argv[2:]
    try:
        spec = parse_args(rest)
    except ValueError as e:
        sys.exit(f"{known.backend}: error: {e}")
    sys.exit(run(spec, known.backend))


if __name__ == "__main__":
    main()
