"""What a finished stage was made from: the ``.done`` stamp and its comparison.

A stage's ``.done`` records a fingerprint of its inputs: the SHA-256 of every input
file, the options that change its output, and optionally named items (the audio of
each utterance for stage 3). On a re-run :func:`check_stamp` compares the recorded
stamp with the current one:

- ``new``: no stamp - the stage runs;
- ``resume``: the stage started from the same inputs and did not finish (its stamp
  is still ``<marker>.running``) - it runs again and may keep what it finished;
- ``done``: finished from the same inputs - it is skipped;
- ``changed``: the inputs differ - it runs again, and the reason names what changed
  (``data/train/text.de changed``).

An input that is itself a stamp (a ``.done`` of an earlier stage) counts by its
fingerprint, so a stage redone from new inputs makes every later stage that reads it
run again, and the later stage's reason says why the earlier one was redone
(``dump/raw/org/train was remade (data/train/text.de changed)``). A stamp made by an
older version (an empty ``.done``) counts as ``done``, with the reason saying so.

The shell drivers use the CLI (``egs2/TEMPLATE/common/stages.sh``, ``run_stage``)::

    python -m espnet2_ext.fileio.stamp check exp/st_x/.train.done \\
        --input dump/raw/train/.done --input conf/train.yaml --option "args=..."
    # prints "<status>\\t<reason>"
    python -m espnet2_ext.fileio.stamp start exp/st_x/.train.done --input ...
    python -m espnet2_ext.fileio.stamp finish exp/st_x/.train.done
"""

import argparse
import hashlib
import json
import logging
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple, Union

from espnet2_ext.utils.atomic import write_text_atomic

PathLike = Union[str, Path]
VERSION = 1
MAX_REASONS = 3


@dataclass
class Stamp:
    """The inputs a stage was made from.

    Attributes:
        inputs: ``{path as given: digest}``; ``sha256:<hex>`` of a file,
            ``stamp:<fingerprint>`` of an earlier stage's stamp, ``missing``.
        options: ``{name: value}`` of the options that change the output.
        items: named parts of the inputs compared one by one (``{utt: digest}``).
        item_label: what an item is, for reasons ("audio of").
        state: ``running`` while the stage works (in ``<marker>.running``), ``done``
            when it finished (in ``<marker>``).
        because: why this stage was last (re)made, for the reasons of later stages.
    """

    inputs: Dict[str, str] = field(default_factory=dict)
    options: Dict[str, str] = field(default_factory=dict)
    items: Dict[str, str] = field(default_factory=dict)
    item_label: str = "item"
    state: str = "done"
    because: str = ""

    def fingerprint(self) -> str:
        """SHA-256 of the inputs, options and items (not the state or reason)."""
        content = json.dumps(
            [VERSION, self.inputs, self.options, self.items], sort_keys=True
        )
        return hashlib.sha256(content.encode("utf-8")).hexdigest()


class Check(NamedTuple):
    """The result of :func:`check_stamp`.

    Attributes:
        status: ``new``, ``resume``, ``done`` or ``changed``.
        reason: what changed (``changed``), or a note (``done`` of an old stamp).
        previous: the recorded stamp, if any (None for an old, empty one).
        root: the root causes of a change (see :func:`differences`), to record as
            the new stamp's ``because``.
    """

    status: str
    reason: str
    previous: Optional[Stamp]
    root: str = ""


def file_digest(path: PathLike) -> str:
    """``sha256:<hex>`` of a file, ``stamp:<fingerprint>`` of a stamp or ``missing``."""
    path = Path(path)
    if not path.is_file():
        return "missing"
    if path.name.endswith(".done"):
        stamp = read_stamp(path)
        if stamp is not None:
            return f"stamp:{stamp.fingerprint()}"
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return f"sha256:{h.hexdigest()}"


def make_stamp(
    inputs: Sequence[PathLike],
    options: Optional[Mapping[str, object]] = None,
    items: Optional[Mapping[str, str]] = None,
    item_label: str = "item",
) -> Stamp:
    """The stamp of the current inputs.

    Args:
        inputs: input files (missing ones are recorded as ``missing``).
        options: option values (``str()`` of each is recorded).
        items: named parts of the inputs with a digest each.
        item_label: what an item is, for reasons ("audio of" -> "audio of 'u3'").
    """
    return Stamp(
        inputs={str(p): file_digest(p) for p in inputs},
        options={str(k): str(v) for k, v in (options or {}).items()},
        items=dict(items or {}),
        item_label=item_label,
    )


def read_stamp(marker: PathLike) -> Optional[Stamp]:
    """The stamp in ``marker``; None for an empty or unreadable (older) marker."""
    try:
        data = json.loads(Path(marker).read_text(encoding="utf-8"))
        data.pop("fingerprint", None)
        data.pop("version", None)
        return Stamp(**data)
    except (OSError, ValueError, TypeError, AttributeError):
        return None


def write_stamp(marker: PathLike, stamp: Stamp) -> None:
    """Writes ``stamp`` (atomically) with its fingerprint, for people to read."""
    data = {"version": VERSION, "fingerprint": stamp.fingerprint(), **asdict(stamp)}
    write_text_atomic(marker, json.dumps(data, indent=1, ensure_ascii=False) + "\n")


def _input_reason(path: str, old: Optional[str], new: str) -> Tuple[str, str]:
    if old is None:
        reason = f"{path} is a new input"
    elif new == "missing":
        reason = f"{path} was removed"
    elif old == "missing":
        reason = f"{path} appeared"
    elif new.startswith("stamp:"):
        upstream = read_stamp(path)
        remade = f"{Path(path).parent} was remade"
        if upstream is None or not upstream.because:
            return remade, remade
        return f"{remade} ({upstream.because})", upstream.because
    else:
        reason = f"{path} changed"
    return reason, reason


def differences(old: Stamp, new: Stamp) -> List[Tuple[str, str]]:
    """What differs between two stamps, inputs first, in the order of ``new``.

    Returns:
        ``(reason, root cause)`` pairs. They differ for an input that is an earlier
        stage's stamp: the reason says the stage was remade, the root cause is why
        (``data/train/text.de changed``), carried on by later stages' stamps. The
        files next to a remade stage's stamp (its outputs) are not listed again.
    """
    changed = [p for p, d in new.inputs.items() if old.inputs.get(p) != d]
    # The files of a remade earlier stage changed with it: its stamp says why.
    remade = {Path(p).parent for p in changed if new.inputs[p].startswith("stamp:")}
    reasons = [
        _input_reason(path, old.inputs.get(path), new.inputs[path])
        for path in changed
        if new.inputs[path].startswith("stamp:") or Path(path).parent not in remade
    ]
    reasons += [
        (f"{path} is no longer an input",) * 2
        for path in old.inputs
        if path not in new.inputs
    ]
    for name in sorted(set(old.options) | set(new.options)):
        before, after = old.options.get(name), new.options.get(name)
        if before != after:
            reasons.append((f"option {name} changed ({before} -> {after})",) * 2)
    changed = [k for k in new.items if old.items.get(k) != new.items[k]]
    removed = [k for k in old.items if k not in new.items]
    if changed or removed:
        first = (changed or removed)[0]
        count = len(changed) + len(removed)
        more = f" ({count} changed in all)" if count > 1 else ""
        reasons.append((f"{new.item_label} '{first}' changed{more}",) * 2)
    return reasons


def running_path(marker: PathLike) -> Path:
    """Where a started stage keeps its stamp until it finishes: ``<marker>.running``."""
    marker = Path(marker)
    return marker.with_name(marker.name + ".running")


def start_stamp(marker: PathLike, stamp: Stamp) -> None:
    """Records that the stage starts from ``stamp``'s inputs (``<marker>.running``).

    Sets ``stamp.because`` from the recorded stamp (why the stage runs again), and
    removes an earlier ``marker``, so the stage counts as unfinished until
    :func:`finish_stamp`.
    """
    stamp.state, stamp.because = "running", check_stamp(marker, stamp).root
    write_stamp(running_path(marker), stamp)
    Path(marker).unlink(missing_ok=True)


def finish_stamp(marker: PathLike) -> None:
    """Marks the started stage done: its running stamp becomes ``marker``.

    Raises:
        FileNotFoundError: the stage was not started with :func:`start_stamp`.
    """
    running = running_path(marker)
    stamp = read_stamp(running)
    if stamp is None:
        raise FileNotFoundError(f"{running}: no stamp of a started stage to finish")
    stamp.state = "done"
    write_stamp(marker, stamp)
    running.unlink()


def check_stamp(marker: PathLike, current: Stamp) -> Check:
    """Compares the stamp recorded in ``marker`` with ``current`` (module docstring)."""
    marker = Path(marker)
    running = running_path(marker)
    if not marker.exists():
        if not running.exists():
            return Check("new", "", None)
        marker = running
    previous = read_stamp(marker)
    if previous is None and marker == running:
        return Check("resume", "", None)
    if previous is None:
        return Check(
            "done",
            f"{marker} records no inputs (written by an older version) - delete it"
            " to redo the stage",
            None,
        )
    reasons = differences(previous, current)
    if reasons:
        shown = [reason for reason, _ in reasons[:MAX_REASONS]]
        more = len(reasons) - len(shown)
        text = "; ".join(shown) + (f"; and {more} more" if more else "")
        roots = list(dict.fromkeys(root for _, root in reasons))
        return Check("changed", text, previous, "; ".join(roots[:MAX_REASONS]))
    return Check("resume" if previous.state == "running" else "done", "", previous)


def log_check(check: Check, output: PathLike, done: str, redo: str) -> None:
    """Logs what a module stage does about ``check``, in one line.

    Args:
        check: the result of :func:`check_stamp`.
        output: the stage's output (dir), named in the message.
        done: how a finished output is described ("already formatted").
        redo: what the stage does about changed inputs ("formatting again").
    """
    if check.status == "done":
        note = f" ({check.reason})" if check.reason else ""
        logging.info(f"{output} {done} - skipping{note}")
    elif check.status == "changed":
        logging.info(f"{output}: {check.reason} since it was made - {redo}")
    elif check.status == "resume":
        logging.info(f"{output}: resuming an interrupted run from the same inputs")


def get_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["check", "start", "finish"])
    parser.add_argument("marker", type=Path)
    parser.add_argument("--input", action="append", default=[], help="input file")
    parser.add_argument("--option", action="append", default=[], metavar="NAME=VALUE")
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = get_args(argv)
    if args.action == "finish":
        try:
            finish_stamp(args.marker)
        except FileNotFoundError as e:
            sys.exit(str(e))
        return
    options = {}
    for item in args.option:
        name, sep, value = item.partition("=")
        if not sep:
            sys.exit(f"--option {item!r}: expected NAME=VALUE")
        options[name] = value
    current = make_stamp(args.input, options)
    if args.action == "check":
        check = check_stamp(args.marker, current)
        print(f"{check.status}\t{check.reason}")
        return
    start_stamp(args.marker, current)


if __name__ == "__main__":
    from espnet2_ext.utils.deps import run_cli

    run_cli(main, input_errors=True)
