"""Validates a Kaldi data dir before training, and optionally drops empty transcripts.

Reads ``DATA_DIR/wav.scp`` (file paths, ``cmd |`` pipes or ark entries), the optional
``segments`` (then utterances are the segment ids), and each text file given with
``--text`` (``text``, or ``text.en`` / ``text.de`` for speech translation). Checks:

- the Kaldi files (``check_kaldi_files``, also run by stage 3, ``format_wav``, and
  stage 4, ``filter``, before they touch anything): every ``text*``, ``utt2spk``,
  ``spk2utt``, ``utt2lang``, ``segments`` present is UTF-8, one ``<id> <value>`` per
  line, without duplicate ids, and has exactly the utterances of ``wav.scp`` (or
  ``segments``); a missing or extra id is reported with the file, the line and the id;
- every audio file exists, is readable and is complete (a wav whose header declares
  more samples than the file holds is truncated), reported as ``wav.scp:LINE`` and
  the path;
- transcripts are not empty. With ``--fix_empty OUTDIR`` the utterances with an empty
  transcript in any text file are dropped (their number is logged) and the data dir is
  written to ``OUTDIR`` (``wav.scp``, ``segments``, the text files, ``utt2spk``,
  ``utt2lang``, ``utt2num_samples``, ``utt2dur`` restricted to the kept utterances,
  and a rebuilt ``spk2utt``), which is the dir to use from then on; without it they
  are an error.

All problems found are reported together. Nothing is written unless ``--fix_empty`` is
given. Returns (and the CLI prints) a report: utterance counts, total duration, the
sample rates and channel counts seen.

Usage::

    python -m espnet2_ext.fileio.data_checks data/train --text text.en --text text.de \\
        --fix_empty data/train_nonempty
"""

import argparse
import json
import logging
import sys
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import soundfile

from espnet2_ext.fileio.audio_io import is_plain_path, read_audio, truncation
from espnet2_ext.fileio.kaldi_io import (
    KaldiEntry,
    read_kaldi_entries,
    read_kaldi_map,
    scan_kaldi_entries,
    write_kaldi_map,
)
from espnet2_ext.utils.log import setup_logging

# Files keyed by utterance id: checked against the utterances, and copied (restricted)
# into the --fix_empty dir.
PER_UTT_FILES = ("utt2spk", "utt2lang", "utt2num_samples", "utt2dur")
MAX_PROBLEMS_SHOWN = 20


class DataDirError(ValueError):
    """A data dir failed validation; ``problems`` lists every problem found."""

    def __init__(self, data_dir: Path, problems: Sequence[str]):
        self.problems = list(problems)
        shown = self.problems[:MAX_PROBLEMS_SHOWN]
        more = len(self.problems) - len(shown)
        lines = [f"{data_dir}: {len(self.problems)} problem(s) found:"]
        lines += [f"  {p}" for p in shown]
        if more:
            lines.append(f"  ... and {more} more")
        super().__init__("\n".join(lines))


@dataclass
class DataReport:
    """Summary of a validated data dir.

    Attributes:
        data_dir: the dir to use: the input dir, or the ``fix_empty`` copy.
        num_utterances: utterances kept.
        num_recordings: audio entries of ``wav.scp`` used by the kept utterances.
        num_empty_filtered: utterances dropped for an empty transcript.
        empty_per_file: empty transcripts per text file (before dropping).
        total_duration: seconds of audio of the kept utterances.
        sample_rates: number of audio entries per sample rate.
        channels: number of audio entries per channel count.
        text_files: the text files checked.
    """

    data_dir: Path
    num_utterances: int
    num_recordings: int
    num_empty_filtered: int = 0
    empty_per_file: Dict[str, int] = field(default_factory=dict)
    total_duration: float = 0.0
    sample_rates: Dict[int, int] = field(default_factory=dict)
    channels: Dict[int, int] = field(default_factory=dict)
    text_files: List[str] = field(default_factory=list)


def check_text_ids(
    utts: Sequence[KaldiEntry],
    ids_file: Path,
    text_file: Path,
    entries: Sequence[KaldiEntry],
) -> List[str]:
    """Problems of one file keyed by utterance (``text*``, ``utt2spk``...) against the
    utterance list.

    Args:
        utts: the utterances (entries of ``wav.scp`` or ``segments``), in file order.
        ids_file: the file ``utts`` come from, for messages.
        text_file: the text file to check.
        entries: its entries (``read_kaldi_entries(text_file)``).

    Returns:
        One message per missing id (naming the text file, the line where it is
        expected and the id) and per extra id (naming the text line and the id).
    """
    in_text = {e.key for e in entries}
    in_utts = {u.key for u in utts}
    counts = f"{text_file.name} has {len(entries)} lines, {ids_file.name} {len(utts)}"
    name = text_file.name
    what = "transcript" if name.startswith("text") else f"{name} line"
    problems = []
    for position, u in enumerate(utts, start=1):
        if u.key not in in_text:
            problems.append(
                f"{text_file}:{position}: no line for utterance '{u.key}'"
                f" ({ids_file.name}:{u.lineno}; {counts}) - add its {what} or"
                f" remove it from {ids_file.name}"
            )
    for e in entries:
        if e.key not in in_utts:
            problems.append(
                f"{text_file}:{e.lineno}: id '{e.key}' is not in {ids_file.name}"
                f" ({counts}) - remove the line or add the utterance"
            )
    return problems


def probe_audio(entry: KaldiEntry, wav_scp: Path):
    """``(frames, sample_rate, channels)`` of one ``wav.scp`` entry, or a problem.

    Returns:
        A tuple on success, else the message (a string) naming ``wav.scp:LINE``.
    """
    where = f"{wav_scp}:{entry.lineno}"
    if is_plain_path(entry.value):
        path = Path(entry.value)
        if not path.is_file():
            return (
                f"{where}: audio file '{path}' of '{entry.key}' does not exist - fix"
                " the path or remove the utterance"
            )
        try:
            info = soundfile.info(str(path))
        except Exception as e:  # noqa: BLE001 - reported with the line to fix
            return (
                f"{where}: audio file '{path}' of '{entry.key}' is not readable"
                f" ({e}) - replace it or remove the utterance"
            )
        problem = truncation(path, int(info.frames))
        if problem:
            return (
                f"{where}: audio file '{path}' of '{entry.key}' is truncated:"
                f" {problem} - replace it or remove the utterance"
            )
        return int(info.frames), int(info.samplerate), int(info.channels)
    try:
        samples, rate = read_audio(entry.value)
    except Exception as e:  # noqa: BLE001
        return (
            f"{where}: cannot read audio '{entry.value}' of '{entry.key}' ({e}) -"
            " check that the command runs / the ark exists"
        )
    return samples.shape[0], rate, samples.shape[1]


def check_segment_line(entry: KaldiEntry, path: Path, recordings) -> Optional[str]:
    """The problem of one ``segments`` line, or None.

    A line must be ``<utt> <recording> <start> <end>`` with a recording of
    ``wav.scp``, times in seconds and ``0 <= start < end`` (``end`` -1: to the end).
    """
    where = f"{path}:{entry.lineno}"
    fields = entry.value.split()
    if len(fields) != 3:
        return (
            f"{where}: expected '<utt> <recording> <start> <end>', got"
            f" '{entry.key} {entry.value}' - fix the line"
        )
    rec, start_s, end_s = fields
    try:
        start, end = float(start_s), float(end_s)
    except ValueError:
        return (
            f"{where}: start/end '{start_s}' '{end_s}' are not numbers - give them"
            " in seconds"
        )
    if rec not in recordings:
        return (
            f"{where}: recording '{rec}' of segment '{entry.key}' is not in wav.scp -"
            " add it to wav.scp or remove the segment"
        )
    if start < 0 or (end != -1 and end <= start):
        return (
            f"{where}: segment '{entry.key}' has start {start} and end {end} - need"
            " 0 <= start < end (or end -1 for the end of the recording)"
        )
    return None


def check_kaldi_files(data_dir: Path) -> List[str]:
    """Problems of the Kaldi files of ``data_dir``, without reading any audio.

    Checks ``wav.scp``, ``segments`` (when present), every ``text*``, ``utt2spk``,
    ``spk2utt``, ``utt2lang``, ``utt2num_samples`` and ``utt2dur`` present: UTF-8,
    line format and duplicate ids (see ``kaldi_io``), the ``segments`` lines, and
    missing and extra utterance ids against ``wav.scp`` (or ``segments``). Paths in
    the messages are ``data_dir / name`` as given (the user's path).

    Returns:
        Every problem found, as ``path:line: what is wrong - what to do``.
    """
    data_dir = Path(data_dir)
    wav_scp = data_dir / "wav.scp"
    if not wav_scp.is_file():
        return [f"{wav_scp}: not found - every data dir needs a wav.scp"]
    recordings, problems = scan_kaldi_entries(wav_scp)
    segments_file = data_dir / "segments"
    utts, ids_file = recordings, wav_scp
    if segments_file.is_file():
        utts, seg_problems = scan_kaldi_entries(segments_file)
        problems += seg_problems
        ids_file = segments_file
        known = {r.key for r in recordings}
        for s in utts:
            problem = check_segment_line(s, segments_file, known)
            if problem:
                problems.append(problem)
    if not utts and not problems:
        return [f"{ids_file}: empty - no utterances"]
    names = sorted(
        p.name
        for p in data_dir.iterdir()
        if p.is_file() and (p.name.startswith("text") or p.name in PER_UTT_FILES)
    )
    utt2spk: Optional[Dict[str, KaldiEntry]] = None
    for name in names:
        path = data_dir / name
        entries, file_problems = scan_kaldi_entries(path)
        problems += file_problems
        problems += check_text_ids(utts, ids_file, path, entries)
        if name == "utt2spk":
            utt2spk = {e.key: e for e in entries}
    spk2utt = data_dir / "spk2utt"
    if spk2utt.is_file():
        problems += check_spk2utt(spk2utt, utts, utt2spk)
    return problems


def check_spk2utt(
    path: Path, utts: Sequence[KaldiEntry], utt2spk: Optional[Dict[str, KaldiEntry]]
) -> List[str]:
    """Problems of ``spk2utt``: unknown, repeated or unlisted utterances, and
    speakers that disagree with ``utt2spk``."""
    entries, problems = scan_kaldi_entries(path)
    in_utts = {u.key for u in utts}
    listed: Dict[str, int] = {}
    for e in entries:
        for utt in e.value.split():
            if utt not in in_utts:
                problems.append(
                    f"{path}:{e.lineno}: utterance '{utt}' of speaker '{e.key}' is"
                    " not in wav.scp - remove it, or rebuild spk2utt with"
                    " utils/utt2spk_to_spk2utt.pl"
                )
            elif utt in listed:
                problems.append(
                    f"{path}:{e.lineno}: utterance '{utt}' listed again (first at"
                    f" line {listed[utt]}) - rebuild spk2utt from utt2spk"
                )
            else:
                listed[utt] = e.lineno
                if utt2spk is not None and utt in utt2spk:
                    spk = utt2spk[utt].value
                    if spk != e.key:
                        problems.append(
                            f"{path}:{e.lineno}: utterance '{utt}' is under speaker"
                            f" '{e.key}' but utt2spk:{utt2spk[utt].lineno} says"
                            f" '{spk}' - rebuild spk2utt from utt2spk"
                        )
    missing = [u for u in utts if u.key not in listed]
    for u in missing[:1]:
        problems.append(
            f"{path}:{len(entries) + 1}: utterance '{u.key}' is in no speaker's line"
            f" ({len(missing)} missing in all) - rebuild spk2utt from utt2spk"
        )
    return problems


def validate_data_dir(data_dir: Path) -> None:
    """Raises ``DataDirError`` listing every problem of ``check_kaldi_files``."""
    problems = check_kaldi_files(data_dir)
    if problems:
        raise DataDirError(data_dir, problems)


def check_data_dir(
    data_dir: Path,
    texts: Sequence[str] = ("text",),
    fix_empty: Optional[Path] = None,
) -> DataReport:
    """Validates ``data_dir`` (see the module docstring).

    Args:
        data_dir: the Kaldi data dir.
        texts: names of the text files in ``data_dir`` to check.
        fix_empty: if given, the dir to write the data dir without the utterances
            whose transcript is empty in any text file.

    Returns:
        The report; ``report.data_dir`` is the dir to use next.

    Raises:
        DataDirError: listing every problem: those of ``check_kaldi_files``
            (malformed lines, missing/extra ids) if any, else unreadable audio and
            empty transcripts without ``fix_empty``.
    """
    data_dir = Path(data_dir)
    problems: List[str] = check_kaldi_files(data_dir)
    if problems:
        raise DataDirError(data_dir, problems)
    wav_scp = data_dir / "wav.scp"
    recordings = read_kaldi_entries(wav_scp)
    segments_file = data_dir / "segments"
    segments: Optional[List[KaldiEntry]] = None
    if segments_file.exists():
        segments = read_kaldi_entries(segments_file)
    utts = recordings if segments is None else segments

    text_maps: Dict[str, Dict[str, KaldiEntry]] = {}
    for name in texts:
        path = data_dir / name
        if not path.is_file():
            problems.append(
                f"{path}: text file not found - check the --text name"
                f" (text files here: {sorted(p.name for p in data_dir.glob('text*'))})"
            )
            continue
        text_maps[name] = {e.key: e for e in read_kaldi_entries(path)}

    rec_info = {}
    for r in recordings:
        probed = probe_audio(r, wav_scp)
        if isinstance(probed, str):
            problems.append(probed)
        else:
            rec_info[r.key] = probed

    utt_ids = {u.key for u in utts}
    empty_lines = {
        name: [e for e in m.values() if e.key in utt_ids and not e.value]
        for name, m in text_maps.items()
    }
    empty_per_file = {name: len(lines) for name, lines in empty_lines.items()}
    empty = {e.key for lines in empty_lines.values() for e in lines}
    if empty and fix_empty is None:
        for name, lines in empty_lines.items():
            for e in lines:
                problems.append(
                    f"{data_dir / name}:{e.lineno}: empty transcript for '{e.key}' -"
                    " pass --fix_empty OUTDIR to write a copy without such utterances"
                )
    if problems:
        raise DataDirError(data_dir, problems)

    kept = [u for u in utts if u.key not in empty]
    if not kept:
        raise DataDirError(
            data_dir, [f"every utterance has an empty transcript in one of {texts}"]
        )
    if segments is None:
        used_recs = [u.key for u in kept]
        duration = sum(rec_info[k][0] / rec_info[k][1] for k in used_recs)
    else:
        used_recs, duration = [], 0.0
        for u in kept:
            rec, start, end = u.value.split()
            frames, rate, _ = rec_info[rec]
            end_s = frames / rate if float(end) == -1 else float(end)
            duration += end_s - float(start)
            if rec not in used_recs:
                used_recs.append(rec)
    report = DataReport(
        data_dir=data_dir,
        num_utterances=len(kept),
        num_recordings=len(used_recs),
        num_empty_filtered=len(empty),
        empty_per_file={k: v for k, v in empty_per_file.items() if v},
        total_duration=duration,
        sample_rates=dict(Counter(rec_info[r][1] for r in used_recs)),
        channels=dict(Counter(rec_info[r][2] for r in used_recs)),
        text_files=list(texts),
    )
    if fix_empty is not None:
        per_file = ", ".join(f"{k}: {v}" for k, v in report.empty_per_file.items())
        logging.info(
            f"filtered {len(empty)} of {len(utts)} utterances with an empty transcript"
            f" ({per_file or 'none'}); writing {fix_empty}"
        )
        write_filtered(data_dir, Path(fix_empty), [u.key for u in kept], used_recs)
        report.data_dir = Path(fix_empty)
    logging.info(
        f"{data_dir}: {report.num_utterances} utterances,"
        f" {report.total_duration:.1f} s, sample rates {report.sample_rates},"
        f" channels {report.channels}"
    )
    return report


def write_filtered(src: Path, dst: Path, utts: List[str], recs: List[str]) -> None:
    """Writes ``src`` restricted to ``utts`` (and their recordings ``recs``)."""
    if src.resolve() == dst.resolve():
        raise ValueError(f"--fix_empty {dst} is the input dir: choose another one")
    dst.mkdir(parents=True, exist_ok=True)
    keep, keep_recs = set(utts), set(recs)
    wav = read_kaldi_map(src / "wav.scp")
    write_kaldi_map(dst / "wav.scp", {k: v for k, v in wav.items() if k in keep_recs})
    names = [
        p.name
        for p in sorted(src.iterdir())
        if p.is_file()
        and (p.name.startswith("text") or p.name in PER_UTT_FILES + ("segments",))
    ]
    for name in names:
        mapping = read_kaldi_map(src / name)
        write_kaldi_map(dst / name, {k: v for k, v in mapping.items() if k in keep})
    if "utt2spk" in names:
        utt2spk = read_kaldi_map(dst / "utt2spk")
        spk2utt: Dict[str, List[str]] = {}
        for utt in sorted(utt2spk, key=lambda s: s.encode("utf-8")):
            spk2utt.setdefault(utt2spk[utt], []).append(utt)
        write_kaldi_map(dst / "spk2utt", {s: " ".join(u) for s, u in spk2utt.items()})


def get_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument(
        "--text",
        action="append",
        default=None,
        help="text file to check (repeatable; default: text)",
    )
    parser.add_argument(
        "--fix_empty",
        type=Path,
        default=None,
        metavar="OUTDIR",
        help="write the data dir without empty-transcript utterances here",
    )
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = get_args(argv)
    setup_logging()
    try:
        report = check_data_dir(args.data_dir, args.text or ["text"], args.fix_empty)
    except DataDirError as e:
        logging.error(str(e))
        sys.exit(1)
    print(json.dumps(asdict(report), default=str, indent=2))


if __name__ == "__main__":
    from espnet2_ext.utils.deps import run_cli

    run_cli(main, input_errors=True)
