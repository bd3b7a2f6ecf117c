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

The Slurm backend submits ONE array job, ``sbatch --array=A-B[%M] --wait ... SCRIPT``
(``%M`` from ``--max_jobs_run``). SCRIPT (written to ``<log dir>/q/<name>.sh``) picks
the command and log of task ``$SLURM_ARRAY_TASK_ID`` and frames the log like the local
backend; Slurm's own output goes to ``<log dir>/q/<name>.<task>.out``. The sbatch
command line comes from ``conf/slurm.conf`` of the recipe directory (the current
directory), else from the default ``espnet2_ext/conf/slurm.conf`` (package data;
``egs2/TEMPLATE/common/conf/slurm.conf`` links it). The
subset of Kaldi's slurm.pl config implemented here::

    command sbatch --export=ALL           # the submit command and its fixed options
    option mem=* --mem=$0                 # --mem M      -> --mem=M
    option mem=0                          # --mem 0      -> no flag
    option num_threads=* --cpus-per-task=$0
    option gpu=* --gres=gpu:$0
    option gpu=0                          # --gpu 0      -> no flag
    default gpu=0                         # value used when the caller gives none

An exact ``option NAME=VALUE`` line wins over ``NAME=*``; ``$0`` is the value; lines
may be blank or ``#`` comments. Options the config does not mention keep a built-in
mapping: ``--num_nodes`` (``--nodes``, ``--ntasks-per-node=1``), ``--time``,
``--partition``, ``--name`` (``--job-name``); ``--gpu``/``--mem``/``--num_threads``
without a matching line are errors. After the array finishes, every task whose log
does not end with ``# Ended (code 0)`` is reported with the tail of its log, and the
exit status is 1.

Usage::

    python -m espnet2_ext.stages.jobs --backend local JOB=1:4 exp/log/x.JOB.log \\
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
from typing import Dict, List, Optional, Sequence, Tuple

from espnet2_ext.utils.package_data import CONF_ROOT

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


#: The default Slurm settings, installed with the package (``egs2/TEMPLATE/common/conf``
#: links it).
DEFAULT_SLURM_CONF = CONF_ROOT / "slurm.conf"


@dataclass
class SlurmConf:
    """A parsed Kaldi ``slurm.conf`` (the subset in the module docstring)."""

    command: List[str]
    options: Dict[Tuple[str, str], List[str]] = field(default_factory=dict)
    defaults: Dict[str, str] = field(default_factory=dict)


def load_slurm_conf(path: Optional[Path] = None) -> SlurmConf:
    """Reads ``path``, else ``conf/slurm.conf``, else the default config."""
    if path is None:
        path = Path("conf/slurm.conf")
        if not path.is_file():
            path = DEFAULT_SLURM_CONF
    conf = SlurmConf(command=["sbatch"])
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        words = shlex.split(line, comments=True)
        if not words:
            continue
        kind, rest = words[0], words[1:]
        if kind == "command" and rest:
            conf.command = rest
        elif kind in ("option", "default") and rest and "=" in rest[0]:
            name, value = rest[0].split("=", 1)
            if kind == "option":
                conf.options[(name, value)] = rest[1:]
            else:
                conf.defaults[name] = value
        else:
            raise ValueError(f"{path}:{number}: cannot parse {line!r}")
    return conf


def _conf_flags(conf: SlurmConf, options: dict) -> List[str]:
    values = {k: str(v) for k, v in conf.defaults.items()}
    values.update({k: str(v) for k, v in options.items()})
    flags = []
    for name, value in values.items():
        if (name, value) in conf.options:
            rule = conf.options[(name, value)]
        elif (name, "*") in conf.options:
            rule = conf.options[(name, "*")]
        elif name in ("gpu", "mem", "num_threads"):
            raise ValueError(f"slurm.conf has no 'option {name}=*' for --{name}")
        else:
            continue
        flags += [w.replace("$0", value) for w in rule]
    return flags


def slurm_command(spec: JobSpec, script: Path, conf: SlurmConf) -> List[str]:
    """The single ``sbatch --array=A-B --wait`` command that runs every job."""
    o = spec.options
    array = f"{spec.first}-{spec.last}"
    if "max_jobs_run" in o:
        array += f"%{o['max_jobs_run']}"
    name = o.get("name", "espnet2_ext")
    args = list(conf.command) + [f"--array={array}", "--wait"]
    args += [f"--job-name={name}", f"--output={script.parent / name}.%a.out"]
    args += _conf_flags(conf, o)
    if o.get("num_nodes", 1) > 1:
        args += [f"--nodes={o['num_nodes']}", "--ntasks-per-node=1"]
    if "time" in o:
        args.append(f"--time={o['time']}")
    if "partition" in o:
        args.append(f"--partition={o['partition']}")
    return args + [str(script)]


_TASK_SCRIPT = """#!/usr/bin/env bash
# Written by espnet2_ext.stages.jobs: one Slurm array task per job.
case ${{SLURM_ARRAY_TASK_ID:?not run as a Slurm array task}} in
{cases}
    *) echo "no job ${{SLURM_ARRAY_TASK_ID}}" >&2; exit 1 ;;
esac
mkdir -p "$(dirname "${{log}}")"
printf '# %s\\n# Started at %s\\n#\\n' "${{cmd}}" "$(date)" > "${{log}}"
start=$(date +%s)
bash -c "${{cmd}}" >> "${{log}}" 2>&1
code=$?
elapsed=$(( $(date +%s) - start ))
echo "# Accounting: time=${{elapsed}} threads=${{OMP_NUM_THREADS:-}}" >> "${{log}}"
echo "# Ended (code ${{code}}) at $(date), elapsed time ${{elapsed}} seconds" \\
    >> "${{log}}"
exit ${{code}}
"""


def slurm_script(spec: JobSpec) -> str:
    """The array job script: task ``$SLURM_ARRAY_TASK_ID`` runs job of that number."""
    cases = []
    for job in spec.job_ids():
        log, command = spec.expand(job)
        cases.append(
            f"    {job}) log={shlex.quote(str(log))}; cmd={shlex.quote(command)} ;;"
        )
    return _TASK_SCRIPT.format(cases="\n".join(cases))


def _succeeded(log: Path) -> bool:
    if not log.is_file():
        return False
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    return bool(lines) and lines[-1].startswith("# Ended (code 0)")


def run_slurm(spec: JobSpec, conf: Optional[SlurmConf] = None) -> int:
    """Submits every job as one array job and waits; returns 0 or 1."""
    conf = load_slurm_conf() if conf is None else conf
    jobs = list(spec.job_ids())
    first_log, _ = spec.expand(jobs[0])
    name = spec.options.get("name", "espnet2_ext")
    script = first_log.parent / "q" / f"{name}.sh"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(slurm_script(spec), encoding="utf-8")
    for job in jobs:
        spec.expand(job)[0].parent.mkdir(parents=True, exist_ok=True)
    code = subprocess.call(slurm_command(spec, script, conf), stdout=subprocess.DEVNULL)
    failed = [j for j in jobs if not _succeeded(spec.expand(j)[0])]
    if not failed:
        if code != 0:
            print(f"slurm: sbatch exited with {code}", file=sys.stderr)
            return 1
        return 0
    first, _ = spec.expand(failed[0])
    print(
        f"slurm: {len(failed)} / {len(jobs)} failed, log is in {first}", file=sys.stderr
    )
    for job in failed:
        _report_tail(spec.expand(job)[0])
    return 1


def _report_tail(log: Path) -> None:
    if log.exists():
        print(f"{log}:", file=sys.stderr)
        tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-20:]
        print("\n".join(f"  {line}" for line in tail), file=sys.stderr)
    else:
        print(f"{log}: missing (the task did not start)", file=sys.stderr)


RUNNERS = {"local": run_local_job}
BACKENDS = ("local", "slurm")


def run(spec: JobSpec, backend: str = "local") -> int:
    """Runs every job of ``spec``; returns 0 or 1 after reporting failures."""
    if backend == "slurm":
        return run_slurm(spec)
    jobs = list(spec.job_ids())
    workers = spec.options.get("max_jobs_run", os.cpu_count() or 1)
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
    parser.add_argument("--backend", choices=BACKENDS, default="local")
    known, rest = parser.parse_known_args(argv[:2])
    rest = rest + argv[2:]
    try:
        spec = parse_args(rest)
    except ValueError as e:
        sys.exit(f"{known.backend}: error: {e}")
    sys.exit(run(spec, known.backend))


if __name__ == "__main__":
    main()
