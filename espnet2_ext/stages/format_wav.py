"""Stage 3 "format": every utterance as a 16 kHz mono PCM16 wav file.

Reads a Kaldi data dir ``SRC``, first validated without reading any audio
(``data_checks.check_kaldi_files``: every Kaldi file UTF-8, well-formed, without
duplicate ids, with exactly the utterances of ``wav.scp`` / ``segments``); all problems
are reported together as ``path:line: what is wrong - what to do`` and the CLI exits
with status 1. Then:

- ``wav.scp``: ``<id> <audio>`` where ``<audio>`` is a file path (anything libsndfile
  reads), a command ending in ``|`` that writes a wav to stdout (e.g. the ``sox ... |``
  pipes of stage 2), or an ark entry ``foo.ark:123`` / ``ark:foo.ark:123`` (read with
  kaldiio);
- optionally ``segments``: ``<utt> <recording> <start> <end>`` in seconds (``end`` -1:
  to the end of the recording), cutting utterances out of the ``wav.scp`` recordings;
- ``text*``, ``utt2spk``, ``utt2lang``, ``spk2utt``: copied, restricted to the
  utterances written.

Writes to ``DST``: ``data/<utt>.wav`` (16 kHz mono PCM16), ``wav.scp`` (absolute paths),
``utt2num_samples``, the copied files and, last, ``.done``. Recordings at another rate
are resampled (``torchaudio.functional.resample``), multi-channel ones downmixed to the
mean of their channels; both are counted in the log ("resampled 3 files from 8000 Hz",
"downmixed 2 stereo files"), and ``--strict`` turns them into errors naming the
``wav.scp`` line. A segment outside its recording (beyond ``--max_overshoot`` seconds
past its end, which is clipped as Kaldi's extract-segments does) is an error naming the
``segments`` line.

A wav whose header declares more samples than the file holds (truncated) is an error
naming the ``wav.scp`` line, or, with ``--drop_truncated``, dropped and counted; a
``cmd |`` entry that exits non-zero is an error with its status.

Resumable: every wav is written to a temporary file and renamed; on a re-run an output
wav whose frame count already matches the expected length is kept (stale temporary
files of an interrupted run are removed). ``.done`` records what the dir was made from
(:mod:`espnet2_ext.fileio.stamp`: the Kaldi files, the options, and per utterance its
``wav.scp`` value, the size and time of its audio file and its segment times): a dir
made from the same inputs is skipped whole ("already formatted - skipping"); after a
change it is formatted again, saying what changed, and only the wavs whose source
changed are rewritten. Work is spread over ``--nj`` worker processes
(:func:`espnet2_ext.utils.process_pool.map_in_processes`: a worker that dies ends the
stage at once, naming its ``wav.scp`` line), one recording at a time, with a progress
bar.

Usage::

    python -m espnet2_ext.stages.format_wav data/train dump/raw/org/train --nj 8
"""

import argparse
import logging
import math
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import soundfile

from espnet2_ext.fileio.audio_io import (
    AudioPipeError,
    audio_info,
    audio_signature,
    read_audio,
    truncation,
)
from espnet2_ext.fileio.data_checks import DataDirError, validate_data_dir
from espnet2_ext.fileio.kaldi_io import (
    read_kaldi_entries,
    read_kaldi_map,
    scan_kaldi_entries,
    write_kaldi_map,
)
from espnet2_ext.fileio.stamp import (
    check_stamp,
    finish_stamp,
    log_check,
    make_stamp,
    start_stamp,
)
from espnet2_ext.utils.atomic import stale_temporaries, write_wav_atomic
from espnet2_ext.utils.log import setup_logging
from espnet2_ext.utils.process_pool import map_in_processes

FS = 16000
# Files keyed by utterance id that are copied, restricted to the utterances written.
PER_UTT_FILES = ("utt2spk", "utt2lang")


@dataclass(frozen=True)
class Segment:
    """One line of ``segments``: an utterance cut out of a recording.

    Attributes:
        utt: utterance id.
        lineno: 1-based line in the segments file (for error messages).
        start: start time in seconds.
        end: end time in seconds; -1 means the end of the recording.
    """

    utt: str
    lineno: int
    start: float
    end: float


@dataclass(frozen=True)
class Job:
    """One recording to format (picklable, sent to a worker process)."""

    wav_scp: str  # path of wav.scp, for messages
    lineno: int
    rec: str
    entry: str
    segments: Optional[Tuple[Segment, ...]]  # None: the recording is one utterance
    segments_file: str
    data_dir: str
    fs: int
    strict: bool
    max_overshoot: float
    drop_truncated: bool = False


@dataclass
class JobResult:
    """What a worker did with one recording."""

    outputs: List[Tuple[str, str, int]]  # (utt, wav path, number of samples)
    rate: int
    channels: int
    written: int
    kept: int
    clipped: int
    truncated: Optional[str] = None  # why the recording was dropped (drop_truncated)


@dataclass
class FormatReport:
    """Summary of one formatted data dir.

    Attributes:
        out_dir: the output data dir.
        num_utterances: utterances in the output ``wav.scp``.
        num_written: wav files written by this run.
        num_kept: complete wav files of an earlier run that were kept.
        resampled: number of recordings resampled, per source sample rate.
        downmixed: number of recordings downmixed, per source channel count.
        clipped_segments: segments ending past their recording, clipped to its end.
        dropped_truncated: truncated recordings dropped (``drop_truncated``).
        already_done: True when ``.done`` was found and nothing was done.
    """

    out_dir: Path
    num_utterances: int
    num_written: int = 0
    num_kept: int = 0
    resampled: Dict[int, int] = field(default_factory=dict)
    downmixed: Dict[int, int] = field(default_factory=dict)
    clipped_segments: int = 0
    dropped_truncated: int = 0
    already_done: bool = False


def resampled_length(num_samples: int, orig_rate: int, new_rate: int) -> int:
    """Length after ``torchaudio.functional.resample``: ``ceil(n * new / orig)``."""
    if orig_rate == new_rate:
        return num_samples
    g = math.gcd(orig_rate, new_rate)
    orig, new = orig_rate // g, new_rate // g
    return -(-num_samples * new // orig)


def downmix(samples: np.ndarray) -> np.ndarray:
    """Mono signal: the mean over the channels of ``samples (frames, channels)``."""
    return samples.mean(axis=1)


def resample(samples: np.ndarray, orig_rate: int, new_rate: int) -> np.ndarray:
    """Resamples a 1-D signal with ``torchaudio.functional.resample``."""
    if orig_rate == new_rate:
        return samples
    import torch
    import torchaudio.functional

    out = torchaudio.functional.resample(
        torch.from_numpy(np.ascontiguousarray(samples)), orig_rate, new_rate
    )
    return out.numpy()


def is_complete(path: Path, expected_samples: int, fs: int) -> bool:
    """Whether ``path`` is a readable mono wav at ``fs`` of ``expected_samples``."""
    try:
        info = soundfile.info(str(path))
    except (RuntimeError, OSError, soundfile.LibsndfileError):
        return False
    return (
        info.frames == expected_samples and info.samplerate == fs and info.channels == 1
    )


def segment_range(
    seg: Segment, rate: int, num_frames: int, max_overshoot: float, where: str
) -> Tuple[int, int, bool]:
    """Sample range ``[start, end)`` of a segment in a recording, and if it was clipped.

    Args:
        seg: the segment.
        rate: the recording's sample rate.
        num_frames: the recording's length in samples.
        max_overshoot: seconds an end may lie past the recording (clipped to it).
        where: ``segments:LINE`` for error messages.

    Raises:
        ValueError: naming ``where`` when the segment is not inside the recording.
    """
    start = int(round(seg.start * rate))
    end = num_frames if seg.end == -1 else int(round(seg.end * rate))
    duration = num_frames / rate
    clipped = False
    if end > num_frames and (end - num_frames) <= max_overshoot * rate:
        end, clipped = num_frames, True
    if start >= num_frames or end > num_frames or end <= start:
        raise ValueError(
            f"{where}: segment '{seg.utt}' [{seg.start}, {seg.end}] s is outside its"
            f" recording ({duration:.3f} s, {num_frames} samples at {rate} Hz); fix the"
            " times in segments or the recording in wav.scp (ends up to"
            f" --max_overshoot {max_overshoot} s past the end are clipped)"
        )
    return start, end, clipped


def format_recording(job: Job) -> JobResult:
    """Writes the utterance(s) of one recording; keeps complete earlier outputs."""
    where = f"{job.wav_scp}:{job.lineno}"
    audio: Optional[np.ndarray] = None

    def load() -> Tuple[np.ndarray, int]:
        try:
            return read_audio(job.entry)
        except AudioPipeError as e:
            raise AudioPipeError(
                f"{where}: the audio command of '{job.rec}' failed: {e} - fix the"
                " command (its output is not used)"
            ) from None
        except Exception as e:  # noqa: BLE001 - re-raised with the line to fix
            raise RuntimeError(
                f"{where}: cannot read audio of '{job.rec}' from '{job.entry}': {e}"
                " - check that the file exists and is audio, or that the command runs"
            ) from e

    try:
        info = audio_info(job.entry)
    except Exception as e:  # noqa: BLE001
        raise RuntimeError(
            f"{where}: cannot read audio of '{job.rec}' from '{job.entry}': {e}"
            " - check that the file exists and is a readable audio file"
        ) from e
    if info is None:
        audio, rate = load()
        num_frames, channels = audio.shape
    else:
        num_frames, rate, channels = info
        problem = truncation(Path(job.entry), num_frames)
        if problem and job.drop_truncated:
            return JobResult([], rate, channels, 0, 0, 0, f"{where}: {problem}")
        if problem:
            raise ValueError(
                f"{where}: '{job.entry}' of '{job.rec}' is truncated: {problem} -"
                " replace the file, or pass --drop_truncated to drop such recordings"
                " (counted in the log)"
            )
    if job.strict and rate != job.fs:
        raise ValueError(
            f"{where}: '{job.entry}' is {rate} Hz, not {job.fs} Hz, and --strict"
            f" forbids resampling: convert it to {job.fs} Hz first or drop --strict"
        )
    if job.strict and channels != 1:
        raise ValueError(
            f"{where}: '{job.entry}' has {channels} channels, and --strict forbids"
            " downmixing: convert it to mono first or drop --strict"
        )
    if job.segments is None:
        pieces = [(job.rec, 0, num_frames)]
        clipped = 0
    else:
        pieces, clipped = [], 0
        for seg in job.segments:
            where_seg = f"{job.segments_file}:{seg.lineno}"
            start, end, was_clipped = segment_range(
                seg, rate, num_frames, job.max_overshoot, where_seg
            )
            pieces.append((seg.utt, start, end))
            clipped += was_clipped
    result = JobResult([], rate, channels, 0, 0, clipped)
    for utt, start, end in pieces:
        path = Path(job.data_dir) / f"{utt}.wav"
        expected = resampled_length(end - start, rate, job.fs)
        if not is_complete(path, expected, job.fs):
            if audio is None:
                audio, rate_read = load()
                assert (audio.shape[0], rate_read) == (num_frames, rate), (
                    where,
                    audio.shape,
                    rate_read,
                    num_frames,
                    rate,
                )
            samples = resample(downmix(audio[start:end]), rate, job.fs)
            assert len(samples) == expected, (where, utt, len(samples), expected)
            write_wav_atomic(path, samples, job.fs)
            result.written += 1
        else:
            result.kept += 1
        result.outputs.append((utt, str(path), expected))
    return result


def read_segments(path: Path) -> Dict[str, List[Segment]]:
    """Parses a validated ``segments`` file into the segments of each recording.

    The lines are checked by ``data_checks.check_kaldi_files`` first.
    """
    by_rec: Dict[str, List[Segment]] = {}
    for e in read_kaldi_entries(path):
        rec, start_s, end_s = e.value.split()
        seg = Segment(e.key, e.lineno, float(start_s), float(end_s))
        by_rec.setdefault(rec, []).append(seg)
    return by_rec


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _channels_name(channels: int) -> str:
    return "stereo" if channels == 2 else f"{channels}-channel"


def side_files(src: Path) -> List[str]:
    """Names of the per-utterance files of ``src`` stage 3 copies: ``text*``,
    ``utt2spk`` and ``utt2lang``, sorted."""
    return sorted(
        p.name
        for p in src.iterdir()
        if p.is_file() and (p.name.startswith("text") or p.name in PER_UTT_FILES)
    )


def utterance_sources(src: Path) -> Dict[str, str]:
    """``{utt: digest}`` of what each output wav is cut from: its recording's audio
    (:func:`audio_io.audio_signature`) and, with ``segments``, its start and end."""
    scan, _ = scan_kaldi_entries(src / "wav.scp")
    recordings = {e.key: audio_signature(e.value) for e in scan}
    if not (src / "segments").is_file():
        return recordings
    segments, _ = scan_kaldi_entries(src / "segments")
    out = {}
    for e in segments:
        rec, _, times = e.value.partition(" ")
        out[e.key] = f"{recordings.get(rec, 'missing')} {times.strip()}"
    return out


def remove_outdated(data_dir: Path, before: Dict[str, str], now: Dict[str, str]) -> int:
    """Removes the output wavs whose source changed (or is gone) since ``before``.

    Returns:
        The number of files removed.
    """
    removed = 0
    for utt, digest in before.items():
        if now.get(utt) != digest:
            path = data_dir / f"{utt}.wav"
            if path.exists():
                path.unlink()
                removed += 1
    if removed:
        logging.info(f"removed {_plural(removed, 'wav')} whose source audio changed")
    return removed


def copy_side_files(src: Path, dst: Path, utts: Sequence[str]) -> List[str]:
    """Copies ``text*``, ``utt2spk``, ``utt2lang`` restricted to ``utts``; ``spk2utt``.

    ``spk2utt`` is rebuilt from the restricted ``utt2spk`` when there is one, else the
    source ``spk2utt`` is restricted. Returns the names of the files written.
    """
    keep = set(utts)
    names = side_files(src)
    for name in names:
        mapping = read_kaldi_map(src / name)
        write_kaldi_map(dst / name, {u: v for u, v in mapping.items() if u in keep})
    spk2utt: Dict[str, List[str]] = {}
    if "utt2spk" in names:
        utt2spk = read_kaldi_map(dst / "utt2spk")
        for utt in sorted(utt2spk, key=lambda s: s.encode("utf-8")):
            spk2utt.setdefault(utt2spk[utt], []).append(utt)
    elif (src / "spk2utt").is_file():
        for spk, value in read_kaldi_map(src / "spk2utt").items():
            kept = [u for u in value.split() if u in keep]
            if kept:
                spk2utt[spk] = kept
    if spk2utt or (src / "spk2utt").is_file():
        write_kaldi_map(dst / "spk2utt", {s: " ".join(u) for s, u in spk2utt.items()})
        names.append("spk2utt")
    return names


def format_data_dir(
    src: Path,
    dst: Path,
    nj: int = 1,
    fs: int = FS,
    strict: bool = False,
    max_overshoot: float = 0.5,
    drop_truncated: bool = False,
) -> FormatReport:
    """Formats the data dir ``src`` into ``dst`` (see the module docstring).

    Args:
        src: input Kaldi data dir (``wav.scp``, optional ``segments``, ``text*``...).
        dst: output data dir; a finished one (``.done``) is skipped.
        nj: number of worker processes (1: in this process).
        fs: output sample rate.
        strict: make resampling and downmixing errors instead of logged counts.
        max_overshoot: seconds a segment may end past its recording (clipped).
        drop_truncated: drop recordings whose wav header declares more samples than
            the file holds (counted in the log) instead of failing.

    Returns:
        The report of what was done.

    Raises:
        DataDirError: (a ValueError) before any audio is read, listing every problem
            of the Kaldi files of ``src`` (``data_checks.check_kaldi_files``).
        ValueError: for segments outside their recording, truncated wavs (unless
            ``drop_truncated``) and, with ``strict``, audio that is not ``fs`` Hz
            mono; messages name the line.
        RuntimeError: for audio that cannot be read or a ``cmd |`` entry that fails
            (naming the ``wav.scp`` line), and ``WorkerDied`` for a worker process
            that was killed.
    """
    src, dst = Path(src), Path(dst)
    if src.resolve() == dst.resolve():
        raise ValueError(f"output dir {dst} is the input dir: choose another one")
    validate_data_dir(src)  # before any audio is read
    names = ["wav.scp", "segments", *side_files(src), "spk2utt"]
    stamp = make_stamp(
        [src / n for n in names if (src / n).is_file()],
        dict(
            fs=fs,
            strict=strict,
            max_overshoot=max_overshoot,
            drop_truncated=drop_truncated,
        ),
        utterance_sources(src),
        item_label="audio of",
    )
    check = check_stamp(dst / ".done", stamp)
    log_check(check, dst, "already formatted", "formatting again")
    if check.status == "done":
        n = len(read_kaldi_map(dst / "wav.scp"))
        return FormatReport(dst, n, already_done=True)
    wav_scp = src / "wav.scp"
    entries = read_kaldi_entries(wav_scp)
    segments_file = src / "segments"
    segments = None
    if segments_file.exists():
        segments = read_segments(segments_file)
    data_dir = (dst / "data").resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    if check.previous is not None:
        remove_outdated(data_dir, check.previous.items, stamp.items)
    start_stamp(dst / ".done", stamp)
    stale = stale_temporaries(data_dir, "*.wav")
    for p in stale:
        p.unlink()
    if stale:
        logging.info(
            f"removed {_plural(len(stale), 'temporary file')} of an earlier run"
        )
    jobs = [
        Job(
            str(wav_scp),
            e.lineno,
            e.key,
            e.value,
            None if segments is None else tuple(segments.get(e.key, ())),
            str(segments_file),
            str(data_dir),
            fs,
            strict,
            max_overshoot,
            drop_truncated,
        )
        for e in entries
        if segments is None or e.key in segments
    ]
    unused = len(entries) - len(jobs)
    if unused:
        logging.info(f"{_plural(unused, 'recording')} of {wav_scp} have no segment")
    results = _run_jobs(jobs, nj)

    report = FormatReport(dst, 0)
    resampled: Counter = Counter()
    downmixed: Counter = Counter()
    wav_out: Dict[str, str] = {}
    num_samples: Dict[str, str] = {}
    truncated = [r.truncated for r in results if r.truncated]
    for r in results:
        if r.rate != fs:
            resampled[r.rate] += 1
        if r.channels != 1:
            downmixed[r.channels] += 1
        report.num_written += r.written
        report.num_kept += r.kept
        report.clipped_segments += r.clipped
        for utt, path, n in r.outputs:
            wav_out[utt] = path
            num_samples[utt] = str(n)
    report.num_utterances = len(wav_out)
    report.resampled = dict(resampled)
    report.downmixed = dict(downmixed)
    for rate, n in sorted(resampled.items()):
        logging.info(f"resampled {_plural(n, 'file')} from {rate} Hz to {fs} Hz")
    for channels, n in sorted(downmixed.items()):
        logging.info(
            f"downmixed {n} {_channels_name(channels)} file{'s' * (n != 1)}"
            " to mono (mean of the channels)"
        )
    if truncated:
        logging.info(
            f"dropped {_plural(len(truncated), 'truncated recording')}"
            f" (--drop_truncated); first: {truncated[0]}"
        )
    report.dropped_truncated = len(truncated)
    if report.clipped_segments:
        logging.info(
            f"clipped {_plural(report.clipped_segments, 'segment')} ending less than"
            f" {max_overshoot} s past the end of the recording"
        )
    write_kaldi_map(dst / "wav.scp", wav_out)
    write_kaldi_map(dst / "utt2num_samples", num_samples)
    copied = copy_side_files(src, dst, list(wav_out))
    logging.info(
        f"{dst}: {report.num_utterances} utterances ({report.num_written} written,"
        f" {report.num_kept} complete from an earlier run kept); copied"
        f" {', '.join(copied) or 'no other files'}"
    )
    finish_stamp(dst / ".done")
    return report


def _describe(job: Job) -> str:
    return f"{job.wav_scp}:{job.lineno} ('{job.rec}')"


def _run_jobs(jobs: List[Job], nj: int) -> List[JobResult]:
    from tqdm import tqdm

    with tqdm(total=len(jobs), desc="format_wav", unit="rec", disable=None) as bar:
        if nj <= 1 or len(jobs) <= 1:
            results = []
            for job in jobs:
                results.append(format_recording(job))
                bar.update()
            return results
        return map_in_processes(
            format_recording, jobs, nj, describe=_describe, progress=bar.update
        )


def get_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("src", type=Path, help="input data dir (wav.scp, ...)")
    parser.add_argument("dst", type=Path, help="output data dir")
    parser.add_argument("--nj", type=int, default=1, help="worker processes")
    parser.add_argument("--fs", type=int, default=FS, help="output sample rate")
    parser.add_argument(
        "--strict",
        action="store_true",
        help="fail on audio that would need resampling or downmixing",
    )
    parser.add_argument(
        "--max_overshoot",
        type=float,
        default=0.5,
        help="seconds a segment may end past its recording (clipped, as in Kaldi)",
    )
    parser.add_argument(
        "--drop_truncated",
        action="store_true",
        help="drop wavs whose header declares more samples than the file holds"
        " (counted in the log) instead of failing",
    )
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = get_args(argv)
    setup_logging()
    try:
        format_data_dir(
            args.src,
            args.dst,
            args.nj,
            args.fs,
            args.strict,
            args.max_overshoot,
            args.drop_truncated,
        )
    except DataDirError as e:
        logging.error(str(e))
        sys.exit(
            f"{args.src}: {len(e.problems)} problem(s) in the data dir, nothing"
            " formatted - fix them (see above) and rerun stage 3"
        )


if __name__ == "__main__":
    from espnet2_ext.utils.deps import run_cli

    run_cli(main, input_errors=True)
