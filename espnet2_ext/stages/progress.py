"""Training progress in the terminal: one line per finished epoch of ``train.log``.

Follows the log that ``espnet2.bin.launch`` writes (``<exp>/train.log``) while a model
trains and prints, to stderr, one line per epoch that ESPnet's trainer reports
(``Nepoch results: [train] ..., [valid] ...``)::

    [fbank_only_de] epoch 3/10: train loss 45.21, valid acc 0.712, elapsed 6m40s,
    left ~15m33s

(one line in the terminal), plus one line when the training resumes, stops early,
finishes or fails. Elapsed is the wall time of the epochs trained, from the log's
timestamps (the time between two runs of a resumed training is not counted); "left"
is the mean epoch time so far times the epochs still to go up to ``max_epoch`` (an
upper bound with early stopping). ``max_epoch`` comes from the log (``N/Mepoch
started``), else from ``config.yaml`` next to the log.

The follower stops when sent SIGTERM or when the process ``--pid`` ends, after
printing what is left in the log. ``--since T`` (seconds since the epoch) prints
nothing for the lines logged before T: the previous run's log, which the follower
may still read before ``espnet2.bin.launch`` rotates it to ``train.1.log``. A log
replaced or truncated while followed is read again from its start.

Usage::

    python -m espnet2_ext.stages.progress exp/st_x/train.log --tag x --pid $$
    python -m espnet2_ext.stages.progress exp/st_x/train.log --once   # read, exit
"""

import argparse
import datetime
import math
import os
import re
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, TextIO, Tuple

#: ESPnet's log format: ``[host] %(asctime)s (%(module)s:%(lineno)d) LEVEL: msg``.
_PREFIX = re.compile(
    r"^\[[^\]]*\] (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) \([^)]*\) \w+: "
)
_STARTED = re.compile(r"^(\d+)/(\d+)epoch started")
_RESULTS = re.compile(r"^(\d+)epoch results: (.*)$")
_SECTION = re.compile(r"(?:, )?\[(\w+)\] ")
_FIELD = re.compile(r"(\w+)=(.*?)(?=, \w+=|$)")
_EARLY = re.compile(r"\[Early stopping\] (\S+) has not been improved (\d+) epochs")
_STOPPED = re.compile(r"was stopped at (?:epoch (\d+)|(\d+) ?epoch)")
_FINISHED = re.compile(r"The training was finished at (\d+) epochs")
_REACHED = re.compile(r"The training has already reached at max_epoch")
_ENDED = re.compile(r"^# Ended \(code (-?\d+)\)")
_SPAN_UNITS = {
    "week": 604800.0,
    "day": 86400.0,
    "hour": 3600.0,
    "minute": 60.0,
    "second": 1.0,
    "millisecond": 1e-3,
    "microsecond": 1e-6,
    "nanosecond": 1e-9,
}
_SPAN = re.compile(
    r"([\d.]+) (week|day|hour|minute|second|millisecond|microsecond" r"|nanosecond)s?"
)


def timespan_seconds(text: str) -> float:
    """Seconds of a humanfriendly timespan (``1 hour, 2 minutes and 1 second``)."""
    return sum(float(n) * _SPAN_UNITS[unit] for n, unit in _SPAN.findall(text))


def clock(seconds: float) -> str:
    """``42s``, ``2m10s``, ``1h05m``."""
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def parse_results(text: str) -> Dict[str, Dict[str, object]]:
    """``{section: {key: value}}`` of the part after ``Nepoch results: ``.

    Numbers become floats, ``time`` becomes seconds; other values stay strings.
    """
    parts = _SECTION.split(text)
    sections: Dict[str, Dict[str, object]] = {}
    for name, body in zip(parts[1::2], parts[2::2]):
        values: Dict[str, object] = {}
        for key, value in _FIELD.findall(body):
            if key == "time":
                values[key] = timespan_seconds(value)
                continue
            try:
                values[key] = float(value)
            except ValueError:
                values[key] = value
        sections[name] = values
    return sections


def split_prefix(line: str) -> Tuple[Optional[float], str]:
    """(POSIX time of the line's local timestamp or None, the message)."""
    m = _PREFIX.match(line)
    if not m:
        return None, line
    stamp = datetime.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S")
    return stamp.timestamp() + int(m.group(2)) / 1000.0, line[m.end() :]


def _number(value) -> bool:
    """A float that is not NaN (ESPnet logs ``acc=nan`` for CTC-only models)."""
    return isinstance(value, float) and not math.isnan(value)


def read_max_epoch(config: Path) -> Optional[int]:
    """``max_epoch`` of an ESPnet ``config.yaml``, or None."""
    if not config.exists():
        return None
    import yaml

    try:
        value = (yaml.safe_load(config.read_text(encoding="utf-8")) or {}).get(
            "max_epoch"
        )
    except (yaml.YAMLError, AttributeError):
        return None
    return int(value) if isinstance(value, int) else None


@dataclass
class Progress:
    """What the log told so far; :meth:`feed` turns a log line into a message."""

    tag: str
    config: Optional[Path] = None
    max_epoch: Optional[int] = None
    durations: List[float] = field(default_factory=list)
    epoch: int = 0
    finished: bool = False  # finished, stopped or failed: said so
    error: Optional[str] = None
    _mark: Optional[float] = None  # when the epoch being trained began
    _in_traceback: bool = False
    _resumed: bool = False

    def _total(self) -> Optional[int]:
        if self.max_epoch is None and self.config is not None:
            return read_max_epoch(self.config)
        return self.max_epoch

    def _of(self, epoch: int) -> str:
        total = self._total()
        return f"{epoch}/{total}" if total else f"{epoch}"

    def epoch_line(self, epoch: int, stats: Dict[str, Dict[str, object]]) -> str:
        """The line of a finished epoch; see the module docstring."""
        parts = []
        train, valid = stats.get("train", {}), stats.get("valid", {})
        if isinstance(train.get("loss"), float):
            parts.append(f"train loss {train['loss']:.2f}")
        if _number(valid.get("acc")):
            parts.append(f"valid acc {valid['acc']:.3f}")
        elif _number(valid.get("loss")):
            parts.append(f"valid loss {valid['loss']:.2f}")
        if _number(valid.get("cer_ctc")) and not _number(valid.get("acc")):
            # a CTC-only model (no decoder, acc is nan): its validation CER
            parts.append(f"valid CER {100 * valid['cer_ctc']:.1f}%")
        if self.durations:
            elapsed = sum(self.durations)
            parts.append(f"elapsed {clock(elapsed)}")
            total = self._total()
            if total:
                mean = elapsed / len(self.durations)
                parts.append(f"left ~{clock(mean * max(total - epoch, 0))}")
        return f"[{self.tag}] epoch {self._of(epoch)}: " + ", ".join(parts)

    def new_run(self) -> None:
        """A new training process writes to the log: the next epoch starts afresh."""
        self._mark = None
        self.finished, self.error = False, None

    def reset(self) -> None:
        """A new log: forget everything it did not tell."""
        self.new_run()
        self.max_epoch, self.durations, self.epoch = None, [], 0

    def feed(self, line: str) -> Optional[str]:
        """Updates the state with one log line; returns the message to print, if any."""
        line = line.rstrip("\n")
        stamp, message = split_prefix(line)
        if stamp is None and not _RESULTS.match(line):
            return self._feed_plain(line)
        self._in_traceback = False
        if m := _STARTED.match(message):
            self.max_epoch = int(m.group(2))
            if self._mark is None:
                self._mark = stamp
            if self._resumed:
                self._resumed = False
                return f"[{self.tag}] resumed: epoch {self._of(int(m.group(1)))} starts"
        elif m := _RESULTS.match(message):
            epoch, stats = int(m.group(1)), parse_results(m.group(2))
            self.epoch = epoch
            if self._mark is not None and stamp is not None:
                self.durations.append(stamp - self._mark)
            else:  # no epoch start seen: the epoch's own train + valid time
                self.durations.append(
                    sum(float(s.get("time", 0.0)) for s in stats.values())
                )
            self._mark = stamp
            return self.epoch_line(epoch, stats)
        elif message.startswith("The training was resumed using"):
            self.new_run()
            self._resumed = True
        elif m := _STOPPED.search(message):
            self.finished = True
            early = _EARLY.search(message)
            why = (
                f"{early.group(1)} not improved for {early.group(2)} epochs"
                if early
                else message
            )
            epoch = int(m.group(1) or m.group(2))
            return f"[{self.tag}] stopped at epoch {self._of(epoch)}: {why}"
        elif _FINISHED.search(message):
            self.finished = True
            last = f" after epoch {self._of(self.epoch)}" if self.epoch else ""
            return (
                f"[{self.tag}] finished{last}: "
                f"{clock(sum(self.durations))} of training in this log"
            )
        elif _REACHED.search(message):
            self.finished = True
            return f"[{self.tag}] already trained to max_epoch: nothing to do"
        return None

    def _feed_plain(self, line: str) -> Optional[str]:
        """Lines without ESPnet's prefix: the job runner's frame, tracebacks."""
        if line.startswith("#"):  # the frame of utils/run.pl (recipe/jobs.py)
            if line.startswith("# Started at"):
                self.new_run()
            elif (m := _ENDED.match(line)) and m.group(1) != "0" and not self.finished:
                return self.failure(f"exit code {m.group(1)}")
        elif line.startswith("Traceback (most recent call last)"):
            self._in_traceback = True
        elif self._in_traceback and line and not line[0].isspace():
            if not line.startswith(("During handling", "The above exception")):
                self.error = line
        return None

    def failure(self, status: str) -> str:
        """The line saying that training failed (``status``: how we know)."""
        self.finished = True
        why = f": {self.error}" if self.error else ""
        epoch = self._of(self.epoch)
        return f"[{self.tag}] training failed after epoch {epoch} ({status}){why}"


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def follow(
    log: Path,
    progress: Progress,
    out: TextIO,
    should_stop: Callable[[], bool],
    since: Optional[float] = None,
    poll: float = 0.5,
    report_end: bool = True,
) -> None:
    """Prints ``progress``'s messages for the lines of ``log`` until ``should_stop()``.

    After ``should_stop()`` turns true the log is read to its end once more. Lines
    logged before ``since`` (POSIX time) in the first file read update the state but
    print nothing; a file that replaces ``log`` (new inode) or a truncated one is read
    from its start, all of it printed. With ``report_end``, a training that the log
    does not show finished, stopped or failed is reported as ended at the end.
    """
    handle: Optional[TextIO] = None
    inode: Optional[int] = None
    live = since is None
    pending = ""
    try:
        while True:
            stopping = should_stop()
            while True:  # read what there is, across a rotation
                if handle is None:
                    try:
                        handle = open(log, encoding="utf-8", errors="replace")
                    except FileNotFoundError:
                        break
                    if inode is not None:  # a new file: a new run, all of it new
                        progress.reset()
                        live = True
                    inode, pending = os.fstat(handle.fileno()).st_ino, ""
                for chunk in iter(handle.readline, ""):
                    pending += chunk
                    if not pending.endswith("\n"):
                        break  # a line still being written
                    line, pending = pending, ""
                    if not live and since is not None:
                        stamp, _ = split_prefix(line)
                        live = stamp is not None and stamp >= since
                    message = progress.feed(line)
                    if message and live:
                        print(message, file=out, flush=True)
                try:
                    st = os.stat(log)
                except FileNotFoundError:
                    break
                if st.st_ino == inode and st.st_size >= handle.tell():
                    break
                handle.close()  # replaced or truncated: read the new one
                handle = None
            if stopping:
                break
            time.sleep(poll)
    finally:
        if handle is not None:
            handle.close()
    if report_end and live and progress.epoch and not progress.finished:
        if progress.error:
            print(progress.failure("traceback in the log"), file=out, flush=True)
        elif progress._total() and progress.epoch < progress._total():
            print(
                f"[{progress.tag}] training ended after epoch "
                f"{progress._of(progress.epoch)} without finishing; see {log}",
                file=out,
                flush=True,
            )


def get_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("log", type=Path, help="the train.log to follow")
    parser.add_argument("--tag", help="line prefix (default: the log's dir name)")
    parser.add_argument("--pid", type=int, help="stop when this process ends")
    parser.add_argument(
        "--since", type=float, help="print nothing for lines logged before (POSIX s)"
    )
    parser.add_argument("--poll", type=float, default=0.5, help="seconds")
    parser.add_argument("--once", action="store_true", help="read the log, exit")
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = get_args(argv)
    stop = {"requested": args.once}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(requested=True))
    progress = Progress(
        args.tag or args.log.parent.name, args.log.parent / "config.yaml"
    )

    def should_stop() -> bool:
        return stop["requested"] or (args.pid is not None and not pid_alive(args.pid))

    follow(
        args.log,
        progress,
        sys.stderr,
        should_stop,
        args.since,
        args.poll,
        report_end=not args.once,
    )


if __name__ == "__main__":
    main()
