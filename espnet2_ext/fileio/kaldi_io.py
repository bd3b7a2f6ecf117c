"""Kaldi-style two-column files: ``<id> <value>`` per line.

Reads ``wav.scp``, ``text``, ``text.<lang>``, ``utt2spk``, ``utt2num_samples``, ... as
ordered mappings, and writes them back sorted as ``LC_ALL=C sort`` would, atomically
(a temporary file in the same directory, then a rename), so an interrupted write never
leaves a half-written data file behind.

Format rules (Kaldi's and ESPnet's): the id is the first whitespace-separated token and
must start at the first character; the value is the rest of the line with surrounding
whitespace removed (it may be empty: ``utt1`` alone is an empty transcript). Ids are
unique. A line that is not UTF-8, a blank line, a line starting with whitespace or a
repeated id is an error that names ``path:line``.

The mapping itself comes from ESPnet's own reader,
``espnet2.fileio.read_text.read_2columns_text``, the one ESPnet's data loader uses, so
what a stage validated is exactly what training reads. ESPnet's reader tolerates what
we refuse (a line starting with whitespace shifts the id; a blank line fails with a bare
``ValueError``) and keeps no line numbers, so :func:`read_kaldi_entries` runs first and
adds the strict ``path:line`` checks; writing (sorted, atomic) is ours.

Example::

    >>> write_kaldi_map(Path("data/train/utt2spk"), {"b": "spk1", "a": "spk1"})
    >>> read_kaldi_map(Path("data/train/utt2spk"))
    {'a': 'spk1', 'b': 'spk1'}
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Tuple, Union

from espnet2_ext.utils.atomic import write_text_atomic

PathLike = Union[str, Path]


@dataclass(frozen=True)
class KaldiEntry:
    """One line of a Kaldi-style file.

    Attributes:
        lineno: 1-based line number in the file.
        key: the id (first token).
        value: the rest of the line, stripped (possibly empty).
    """

    lineno: int
    key: str
    value: str


def scan_kaldi_entries(path: PathLike) -> Tuple[List[KaldiEntry], List[str]]:
    """Reads a Kaldi-style file, collecting every malformed line instead of stopping.

    Args:
        path: the file (UTF-8); named in the messages as given.

    Returns:
        ``(entries, problems)``: the well-formed entries in file order, and one
        ``path:line: what is wrong - what to do`` message per line that is not valid
        UTF-8, has no id (blank or starting with whitespace) or repeats an id.
    """
    entries: List[KaldiEntry] = []
    problems: List[str] = []
    seen: Dict[str, int] = {}
    with open(path, "rb") as f:
        data = f.read()
    raw_lines = data.split(b"\n")
    if raw_lines and raw_lines[-1] == b"":
        raw_lines.pop()
    for lineno, raw in enumerate(raw_lines, start=1):
        try:
            line = raw.decode("utf-8").rstrip("\r")
        except UnicodeDecodeError as e:
            problems.append(
                f"{path}:{lineno}: not valid UTF-8 (byte"
                f" 0x{raw[e.start]:02x} at column {e.start + 1}) - re-encode the file"
                " as UTF-8, e.g. iconv -f latin1 -t utf-8"
            )
            # Still parsed (with U+FFFD), so its id is not reported missing too.
            line = raw.decode("utf-8", "replace").rstrip("\r")
        if not line.strip() or line[0].isspace():
            problems.append(
                f"{path}:{lineno}: no id at the start of the line ({line!r}); each"
                " line must be '<id> <value>' with the id in the first column -"
                " remove the blank line or restore the missing id"
            )
            continue
        parts = line.split(maxsplit=1)
        key = parts[0]
        value = parts[1].strip() if len(parts) > 1 else ""
        if key in seen:
            problems.append(
                f"{path}:{lineno}: duplicate id '{key}' (first at line"
                f" {seen[key]}); ids must be unique - remove or rename one of them"
            )
            continue
        seen[key] = lineno
        entries.append(KaldiEntry(lineno, key, value))
    return entries, problems


def read_kaldi_entries(path: PathLike) -> List[KaldiEntry]:
    """Reads a Kaldi-style file as a list of entries with their line numbers.

    Args:
        path: the file (UTF-8).

    Returns:
        The entries in file order.

    Raises:
        ValueError: naming ``path:line`` for the first line that is not UTF-8, has
            no id (blank or starting with whitespace) or has an id seen before.
    """
    entries, problems = scan_kaldi_entries(path)
    if problems:
        raise ValueError(problems[0])
    return entries


def read_kaldi_map(path: PathLike) -> Dict[str, str]:
    """Reads a Kaldi-style file as ``{id: value}`` in file order.

    Args:
        path: the file (UTF-8).

    Returns:
        The mapping, keeping the order of the lines.

    Raises:
        ValueError: naming ``path:line`` for a malformed line (no id, duplicate id).
    """
    from espnet2.fileio.read_text import read_2columns_text

    read_kaldi_entries(path)  # the strict checks, with path:line errors
    return read_2columns_text(path)


def format_kaldi_lines(mapping: Mapping[str, str]) -> List[str]:
    """The lines of ``mapping`` (no newline), sorted in C-locale byte order.

    ``LC_ALL=C sort`` compares whole lines byte by byte; so does this.
    """
    lines = []
    for key, value in mapping.items():
        key = str(key)
        if not key or any(c.isspace() for c in key):
            raise ValueError(
                f"invalid id {key!r}: ids must be non-empty, no whitespace"
            )
        value = str(value)
        if "\n" in value or "\r" in value:
            raise ValueError(f"value of '{key}' contains a line break: {value!r}")
        lines.append(f"{key} {value}" if value else key)
    return sorted(lines, key=lambda s: s.encode("utf-8"))


def write_kaldi_map(path: PathLike, mapping: Mapping[str, str]) -> None:
    """Writes ``mapping`` as a Kaldi-style file, sorted like ``LC_ALL=C sort``.

    The file is written to a temporary file next to ``path`` and renamed over it, so
    readers see either the old or the new complete file.

    Args:
        path: the output file (missing parent directories are created).
        mapping: ``{id: value}``; an empty value writes the id alone.

    Raises:
        ValueError: for an id that is empty or contains whitespace, or a value with
            a line break.
    """
    write_text_atomic(
        path, "".join(line + "\n" for line in format_kaldi_lines(mapping))
    )


def read_utf8_lines(path: Path, remedy: str) -> Tuple[List[Optional[str]], List[str]]:
    """The lines of a text file split on ``\\n`` only (as ``wc -l`` and ``paste``).

    Args:
        path: The file.
        remedy: What to do about a line that is not UTF-8 (ends its problem).

    Returns:
        ``(lines, problems)``: one entry per line (``\\r`` at the end removed), None
        for a line that is not UTF-8, with its problem naming the line and the byte
        offset.
    """
    raw_lines = Path(path).read_bytes().split(b"\n")
    if raw_lines[-1] == b"":
        raw_lines.pop()
    lines: List[Optional[str]] = []
    problems = []
    offset = 0
    for lineno, raw in enumerate(raw_lines, start=1):
        try:
            lines.append(raw.decode("utf-8").removesuffix("\r"))
        except UnicodeDecodeError as e:
            lines.append(None)
            problems.append(
                f"{path}:{lineno}: not valid UTF-8 (byte 0x{raw[e.start]:02x} at byte"
                f" offset {offset + e.start} of the file, column {e.start + 1}) -"
                f" {remedy}"
            )
        offset += len(raw) + 1
    return lines, problems
