"""Stage 1 of ``egs2/ml_superb/asr1``: one ML-SUPERB track as Kaldi data dirs.

Usage::

    python -m espnet2_ext.recipes.ml_superb.data_prep --root /data/ml_superb \\
        --outdir data --duration 10min [--langs eng] [--lid true|false] \\
        [--max_train_seconds 20] \\
        [--train_set train_10min --dev_set dev_10min --test_set test_10min] \\
        [--nlsyms_out data/nlsyms.txt]

ML-SUPERB (Shi et al., Interspeech 2023) is not distributed with this project: get the
release from https://multilingual.superbbenchmark.org/, unpack it and point the
recipe's ``db.sh`` variable ``MLSUPERB`` (``--root``) at the folder that holds the
dataset folders. Nothing is downloaded here.

Reads (the released layout; ESPnet's ``egs2/ml_superb/asr1/local/data_prep.py`` is the
reference behaviour, this is our own code)::

    <root>/<dataset>/<iso>/wav/<utt>.wav
    <root>/<dataset>/<iso>/transcript_10min_train.txt
    <root>/<dataset>/<iso>/transcript_1h_train.txt
    <root>/<dataset>/<iso>/transcript_10min_dev.txt
    <root>/<dataset>/<iso>/transcript_10min_test.txt

The datasets are the folders of ``<root>`` (sorted; hidden ones ignored), the
languages the folders of a dataset, named by their ISO 639-3 code (3 lowercase
letters). ``langs=None`` (no ``--langs``) reads every language: the multilingual
tracks; ``langs=["eng"]`` reads that language in every dataset that has it: the
monolingual track of English. ``datasets`` (``--datasets``) restricts the datasets.

Train reads ``transcript_<duration>_train.txt`` (``duration`` is ``10min`` or ``1h``);
dev and test always read the 10-minute files, as ESPnet does. Only the files read must
exist. A transcript line is::

    fleurs_lit_000097 <second field> Labas rytas, pasauli!

split as ESPnet splits it, ``line.split(maxsplit=2)``: the utterance id, a second field
that is ignored (as ESPnet ignores it), and the text (the rest of the line). The id is
``<dataset>_<iso>_<number>``; its ``<iso>`` must be its folder's language, its
``<dataset>`` is not compared with the folder name (the release abbreviates:
``commonvoice/`` holds ``cv_*`` ids, ``googlei18n_tts/`` ``googlei18n-tts_*``). Its
audio is ``wav/<utt>.wav``; only its header is read (``soundfile.info``).

Writes, for each of the three sets, ``<outdir>/<set>/`` (default names
``train_<duration>``, ``dev_<duration>``, ``test_<duration>``, ESPnet's), every file
sorted by utterance id (C-locale order)::

    wav.scp    fleurs_lit_000097 /abs/root/fleurs/lit/wav/fleurs_lit_000097.wav
    text       fleurs_lit_000097 LABAS RYTAS PASAULI      ([lit] LABAS ... with lid)
    utt2spk    fleurs_lit_000097 fleurs_lit_000097        (no speaker information)
    spk2utt    fleurs_lit_000097 fleurs_lit_000097
    utt2lang   fleurs_lit_000097 lit

``wav.scp`` names the wav itself (ESPnet's recipe pipes it through ``sox``; our format
stage converts and resamples: a wav at another rate than 16 kHz is fine here). The
text is :func:`~espnet2_ext.scoring.ml_superb_text.normalize_transcript` of the
transcript (no ``[...]`` tags, no ASCII punctuation, upper case, whitespace collapsed;
letters such as ``é`` stay); with ``lid`` it starts with the language tag,
:func:`~espnet2_ext.scoring.ml_superb_text.with_lid` (``[fra] BONJOUR``).
``nlsyms_out`` (a LID track only) gets the tags of the languages, one a line: the
non-linguistic symbols of the tokenizer.

Dropped, counted per set and language (:class:`LangCounts`) and logged with the first
few ``file:line``:

- a train utterance longer than ``max_train_seconds`` (20 s, ESPnet's default for the
  benchmark; ``inf`` keeps all): its length comes from the wav header. Dev and test
  keep every length;
- an utterance whose text is empty after normalisation (only punctuation or tags).

Checked before anything is written, every problem collected (20 shown, then "... and N
more"), each as ``path:line: what is wrong - what to do``, then one
:class:`MlSuperbInputError` (the CLI: one ``espnet2_ext: error:`` line after the
logged list, exit status 1, no traceback unless ``ESPNET2_EXT_VERBOSE=1``):

- the root is missing or holds no dataset folder; a folder of a dataset is not a
  language code; a language given is in no dataset;
- a language folder lacks a transcript file read (which duration and split) or
  ``wav/``;
- a transcript line is not UTF-8 (its byte offset), has fewer than 3 fields, or an id
  not ``<dataset>_<iso>_<number>`` or of another language than its folder;
- an utterance id is used twice (in one file or in two: both places named);
- a wav is missing, unreadable by soundfile, or truncated (its header declares more
  samples than the file holds).

Not done (ESPnet's recipe does them): the few-shot restriction of 20 reserved
languages to 5 training utterances each in the multilingual tracks, and the choice of
one dataset per language in ``single_lang_data_prep.py``; ``--datasets`` can give the
latter.

Every file is written atomically and only when its content changed, so a re-run on the
same input changes no file (later stages hash them); identical input gives
byte-identical output.

Example::

    >>> from espnet2_ext.recipes.ml_superb.fake_corpus import build_fake_ml_superb
    >>> rows = build_fake_ml_superb("/tmp/ml_superb")  # fleurs/{eng,fra}, cv/fra
    >>> stats = prepare_ml_superb("/tmp/ml_superb", "/tmp/data", "10min", lid=True)
    >>> stats.sets["train"].name, stats.sets["train"].langs["fra"]
    ('train_10min', LangCounts(kept=6, skipped_long=0, empty=0))
"""

import argparse
import logging
import math
import os
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from espnet2_ext.fileio.audio_io import checked_wav_info
from espnet2_ext.fileio.data_checks import DataDirError
from espnet2_ext.fileio.input_report import examples, progress
from espnet2_ext.fileio.kaldi_io import format_kaldi_lines, read_utf8_lines
from espnet2_ext.scoring.ml_superb_text import (
    UTT_ID,
    lid_tag,
    normalize_transcript,
    with_lid,
)
from espnet2_ext.utils.atomic import write_lines_if_changed
from espnet2_ext.utils.log import setup_logging

DURATIONS = ("10min", "1h")
SPLITS = ("train", "dev", "test")
#: The duration of the transcript each split reads (None: the ``duration`` asked).
SPLIT_DURATION: Dict[str, Optional[str]] = {
    "train": None,
    "dev": "10min",
    "test": "10min",
}
#: Train utterances longer than this (seconds) are skipped, as in ESPnet's recipe.
MAX_TRAIN_SECONDS = 20.0
#: The files each data dir gets.
FILES = ("wav.scp", "text", "utt2spk", "spk2utt", "utt2lang")
#: What to do about a transcript line that is not UTF-8.
REENCODE = "restore the file from the ML-SUPERB release, or re-encode it as UTF-8"
RELEASE_URL = "https://multilingual.superbbenchmark.org/"

_ISO_RE = re.compile(r"[a-z]{3}")


class MlSuperbInputError(DataDirError):
    """The ML-SUPERB tree failed the input checks; ``problems`` lists them all."""


@dataclass(frozen=True)
class Utterance:
    """One transcript line, checked.

    Attributes:
        utt: the utterance id (``fleurs_lit_000097``).
        iso: its language (the folder's).
        dataset: its dataset folder.
        where: ``path:line`` of its transcript line.
        text: the text as read (the third field).
        wav: the absolute path of its wav.
        seconds: the wav's length (from its header).
        rate: the wav's sample rate.
    """

    utt: str
    iso: str
    dataset: str
    where: str
    text: str
    wav: str
    seconds: float
    rate: int


@dataclass
class LangCounts:
    """What became of one language's lines in one set.

    Attributes:
        kept: utterances written.
        skipped_long: train utterances longer than ``max_train_seconds``, skipped.
        empty: utterances whose text is empty after normalisation, dropped.
    """

    kept: int = 0
    skipped_long: int = 0
    empty: int = 0


@dataclass
class SetReport:
    """What :func:`prepare_ml_superb` wrote for one set.

    Attributes:
        split: ``train``, ``dev`` or ``test``.
        name: the data dir name (``train_10min``).
        data_dir: where it was written.
        transcript: the transcript file name read in each language folder.
        langs: counts per language (ISO 639-3), sorted.
        seconds: audio of the written utterances.
        written: files written (their content changed); the others were unchanged.
    """

    split: str
    name: str
    data_dir: Path
    transcript: str
    langs: Dict[str, LangCounts] = field(default_factory=dict)
    seconds: float = 0.0
    written: List[str] = field(default_factory=list)

    @property
    def num_utterances(self) -> int:
        return sum(c.kept for c in self.langs.values())

    @property
    def num_skipped_long(self) -> int:
        return sum(c.skipped_long for c in self.langs.values())

    @property
    def num_empty(self) -> int:
        return sum(c.empty for c in self.langs.values())


@dataclass
class MlSuperbStats:
    """What :func:`prepare_ml_superb` did.

    Attributes:
        sets: one report per split (``train``, ``dev``, ``test``).
        datasets: the datasets read for each language (``{"fra": ["cv", "fleurs"]}``).
        nlsyms: the language-tag file written, if asked for.
    """

    sets: Dict[str, SetReport]
    datasets: Dict[str, List[str]]
    nlsyms: Optional[Path] = None


# ---------------------------------------------------------------------------------
# Reading the tree


def transcript_name(duration: str, split: str) -> str:
    """``transcript_<duration>_<split>.txt``, the released file name."""
    return f"transcript_{duration}_{split}.txt"


def _obtain_hint(root: Path) -> str:
    return (
        f"ML-SUPERB is not shipped with this recipe: get the release from"
        f" {RELEASE_URL}, unpack it and set MLSUPERB in db.sh (--root, now '{root}')"
        " to the folder that holds the dataset folders"
    )


def _subdirs(path: Path) -> List[Path]:
    """The folders of ``path``, sorted by name, hidden ones left out."""
    return sorted(
        (p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")),
        key=lambda p: p.name,
    )


def find_languages(
    root: Path,
    langs: Optional[Sequence[str]] = None,
    datasets: Optional[Sequence[str]] = None,
) -> Tuple[List[Tuple[str, str]], List[str]]:
    """The ``(dataset, iso)`` folders to read, in sorted order.

    Args:
        root: the ML-SUPERB root.
        langs: the languages (None: every one).
        datasets: the datasets (None: every one).

    Returns:
        ``(folders, problems)``.
    """
    hint = _obtain_hint(root)
    if not root.is_dir():
        return [], [f"{root}: no such directory (the ML-SUPERB root) - {hint}"]
    found = _subdirs(root)
    if not found:
        return [], [
            f"{root}: no dataset folder in it (expected <root>/<dataset>/<iso>/wav/ and"
            f" <root>/<dataset>/<iso>/transcript_*.txt) - {hint}"
        ]
    problems = []
    names = [p.name for p in found]
    if datasets is not None:
        for name in datasets:
            if name not in names:
                problems.append(
                    f"{root / name}: no such dataset folder (found: {', '.join(names)})"
                    " - fix --datasets"
                )
        found = [p for p in found if p.name in datasets]
    folders = []
    for dataset_dir in found:
        if any(dataset_dir.glob("transcript_*.txt")):
            problems.append(
                f"{dataset_dir}: holds transcript files, so it is a language folder"
                f" and --root (now '{root}') is a dataset folder - give the folder"
                " that holds the dataset folders"
            )
            continue
        lang_dirs = _subdirs(dataset_dir)
        if langs is not None:
            folders += [
                (dataset_dir.name, d.name) for d in lang_dirs if d.name in langs
            ]
            continue
        if not lang_dirs:
            problems.append(
                f"{dataset_dir}: no language folder in it (expected"
                f" {dataset_dir}/<iso>/) - remove the folder, or restore it from the"
                " release"
            )
        for lang_dir in lang_dirs:
            if not _ISO_RE.fullmatch(lang_dir.name):
                problems.append(
                    f"{lang_dir}: not a language folder (the folders of a dataset are"
                    " ISO 639-3 codes, 3 lowercase letters) - remove it; is --root"
                    f" (now '{root}') the folder that holds the dataset folders?"
                )
            else:
                folders.append((dataset_dir.name, lang_dir.name))
    for iso in langs or ():
        if not any(lang == iso for _, lang in folders):
            where = ", ".join(p.name for p in found)
            problems.append(
                f"{root}: language '{iso}' is in no dataset folder (read: {where}) -"
                f" fix --langs, or is --root the folder that holds the datasets?"
            )
    return folders, problems


def parse_line(line: str, where: str, iso: str):
    """``(utt, text)`` of one transcript line, or the problem (a string).

    The line is split as ESPnet splits it, ``split(maxsplit=2)``; the second field is
    ignored.
    """
    fields = line.split(maxsplit=2)
    fix = (
        "the released format is '<dataset>_<iso>_<number> <field> <text>': fix the"
        " line or restore the file from the release"
    )
    if len(fields) < 3:
        return (
            f"{where}: {len(fields)} field(s), expected 3 (id, a second field, text):"
            f" {line[:80]!r} - {fix}"
        )
    utt, _, text = fields
    match = UTT_ID.fullmatch(utt)
    if not match:
        return (
            f"{where}: utterance id {utt!r} is not <dataset>_<iso>_<number> (like"
            f" fleurs_{iso}_000097) - {fix}"
        )
    if match["iso"] != iso:
        return (
            f"{where}: utterance id '{utt}' is of language '{match['iso']}' but is in"
            f" the folder of '{iso}' - move the line (and its wav) to the folder of"
            f" '{match['iso']}', or restore the file from the release"
        )
    return utt, text


def read_transcript(
    lang_dir: Path, dataset: str, iso: str, path: Path, seen: Dict[str, str]
) -> Tuple[List[Utterance], List[str]]:
    """Reads and checks one transcript file and the wavs it names.

    Args:
        lang_dir: ``<root>/<dataset>/<iso>``.
        dataset: the dataset folder name.
        iso: the language.
        path: the transcript file.
        seen: ``utt -> path:line`` of the ids read so far (updated).

    Returns:
        ``(utterances, problems)``.
    """
    lines, problems = read_utf8_lines(path, REENCODE)
    utterances = []
    for lineno, line in enumerate(lines, start=1):
        if line is None:
            continue  # not UTF-8: reported
        where = f"{path}:{lineno}"
        parsed = parse_line(line, where, iso)
        if isinstance(parsed, str):
            problems.append(parsed)
            continue
        utt, text = parsed
        if utt in seen:
            problems.append(
                f"{where}: utterance id '{utt}' is used twice, first at {seen[utt]} -"
                " remove one of the two lines, or restore the files from the release"
            )
            continue
        seen[utt] = where
        wav = lang_dir / "wav" / f"{utt}.wav"
        info, what = checked_wav_info(wav)
        if info is None:
            problems.append(
                f"{where}: wav of '{utt}' {what} ({wav}) - restore it from the"
                " ML-SUPERB release, or remove the line"
            )
            continue
        frames, rate = info
        utterances.append(
            Utterance(
                utt,
                iso,
                dataset,
                where,
                text,
                os.path.abspath(wav),
                frames / rate,
                rate,
            )
        )
    return utterances, problems


# ---------------------------------------------------------------------------------
# Selecting and writing


def select(
    utterances: Sequence[Utterance],
    report: SetReport,
    max_seconds: float,
    lid: bool,
) -> Dict[str, Tuple[Utterance, str]]:
    """``{utt: (utterance, text to write)}``; the long and empty ones counted in
    ``report.langs`` and logged."""
    kept: Dict[str, Tuple[Utterance, str]] = {}
    long: List[str] = []
    empty: List[str] = []
    for u in utterances:
        counts = report.langs.setdefault(u.iso, LangCounts())
        if u.seconds > max_seconds:
            counts.skipped_long += 1
            long.append(f"{u.where} ({u.seconds:.1f} s)")
            continue
        text = normalize_transcript(u.text)
        if not text:
            counts.empty += 1
            empty.append(u.where)
            continue
        counts.kept += 1
        kept[u.utt] = (u, with_lid(u.iso, text) if lid else text)
    report.langs = dict(sorted(report.langs.items()))
    if long:
        logging.warning(
            "%s: skipped %d of %d utterances longer than %g s (the benchmark's limit"
            " for training, --max_train_seconds): %s",
            report.name,
            len(long),
            len(utterances),
            max_seconds,
            examples(long),
        )
    if empty:
        logging.warning(
            "%s: dropped %d of %d utterances whose transcript is empty after"
            " ML-SUPERB's normalisation (only punctuation or [tags]): %s",
            report.name,
            len(empty),
            len(utterances),
            examples(empty),
        )
    return kept


def data_dir_files(kept: Dict[str, Tuple[Utterance, str]]) -> Dict[str, List[str]]:
    """The lines of every file of a data dir, sorted in C-locale order."""
    same = {utt: utt for utt in kept}
    return {
        "wav.scp": format_kaldi_lines({utt: u.wav for utt, (u, _) in kept.items()}),
        "text": format_kaldi_lines({utt: text for utt, (_, text) in kept.items()}),
        "utt2spk": format_kaldi_lines(same),
        "spk2utt": format_kaldi_lines(same),
        "utt2lang": format_kaldi_lines({utt: u.iso for utt, (u, _) in kept.items()}),
    }


def _set_names(
    duration: str, train_set: Optional[str], dev_set: Optional[str], test_set
) -> Dict[str, str]:
    given = {"train": train_set, "dev": dev_set, "test": test_set}
    names = {s: name or f"{s}_{duration}" for s, name in given.items()}
    for split, name in names.items():
        if name in (".", "..") or "/" in name or any(c.isspace() for c in name):
            raise ValueError(
                f"--{split}_set {name!r}: not a data dir name - give a folder name"
                " like train_10min"
            )
    if len(set(names.values())) != len(names):
        raise ValueError(
            f"the set names must differ: train {names['train']!r}, dev"
            f" {names['dev']!r}, test {names['test']!r}"
        )
    return names


def prepare_ml_superb(
    root: Path,
    outdir: Path,
    duration: str = "10min",
    langs: Optional[Sequence[str]] = None,
    lid: bool = False,
    max_train_seconds: float = MAX_TRAIN_SECONDS,
    train_set: Optional[str] = None,
    dev_set: Optional[str] = None,
    test_set: Optional[str] = None,
    datasets: Optional[Sequence[str]] = None,
    nlsyms_out: Optional[Path] = None,
) -> MlSuperbStats:
    """Checks the ML-SUPERB tree, then writes the train, dev and test data dirs.

    Args:
        root: the folder holding the dataset folders (``MLSUPERB`` of ``db.sh``).
        outdir: where the data dirs go (``data``).
        duration: the training data per language, ``10min`` or ``1h``.
        langs: the languages (ISO 639-3) to read; None: every one (multilingual).
        lid: start every text with its language tag (``[fra] ...``).
        max_train_seconds: longer train utterances are skipped (``inf``: none).
        train_set: the train data dir name (default ``train_<duration>``).
        dev_set: the dev data dir name (default ``dev_<duration>``).
        test_set: the test data dir name (default ``test_<duration>``).
        datasets: the dataset folders to read; None: every one.
        nlsyms_out: with ``lid``, a file to get the language tags, one a line.

    Returns:
        The counts of each set, per language.

    Raises:
        ValueError: an option is wrong.
        MlSuperbInputError: every problem found in the tree (nothing is written).
    """
    root, outdir = Path(root), Path(outdir)
    if duration not in DURATIONS:
        raise ValueError(
            f"--duration {duration!r}: ML-SUPERB's are {', '.join(DURATIONS)}"
        )
    if langs is not None:
        bad = [iso for iso in langs if not _ISO_RE.fullmatch(iso)]
        if bad or not langs or len(set(langs)) != len(langs):
            raise ValueError(
                f"--langs {' '.join(langs)}: give each language once, as its ISO 639-3"
                " code (3 lowercase letters, e.g. eng)"
            )
    if datasets is not None and (not datasets or len(set(datasets)) != len(datasets)):
        raise ValueError(f"--datasets {' '.join(datasets)}: give each dataset once")
    if math.isnan(max_train_seconds) or max_train_seconds <= 0:
        raise ValueError(
            f"--max_train_seconds {max_train_seconds}: give a positive number of"
            " seconds (inf keeps every length)"
        )
    if nlsyms_out is not None and not lid:
        raise ValueError(
            "--nlsyms_out is the language-tag list of a LID track: give --lid true"
        )
    names = _set_names(duration, train_set, dev_set, test_set)
    transcripts = {
        s: transcript_name(d or duration, s) for s, d in SPLIT_DURATION.items()
    }

    folders, problems = find_languages(root, langs, datasets)
    by_split: Dict[str, List[Utterance]] = {s: [] for s in SPLITS}
    seen: Dict[str, str] = {}
    datasets_of: Dict[str, List[str]] = defaultdict(list)
    for dataset, iso in progress(folders, "language folders", "folder"):
        lang_dir = root / dataset / iso
        missing = [
            f"{lang_dir / transcripts[s]}: missing (the {d or duration} {s} transcript"
            f" of {dataset}/{iso}) - restore it from the ML-SUPERB release"
            + (", or leave the language out" if langs is None else "")
            for s, d in SPLIT_DURATION.items()
            if not (lang_dir / transcripts[s]).is_file()
        ]
        if not (lang_dir / "wav").is_dir():
            missing.append(
                f"{lang_dir / 'wav'}: no such directory (the audio of {dataset}/{iso})"
                " - restore it from the ML-SUPERB release"
            )
        problems += missing
        if missing:
            continue
        datasets_of[iso].append(dataset)
        for split in SPLITS:
            found, file_problems = read_transcript(
                lang_dir, dataset, iso, lang_dir / transcripts[split], seen
            )
            by_split[split] += found
            problems += file_problems
    if problems:
        raise MlSuperbInputError(root, problems)

    logging.info(
        "%d language(s) from %d dataset(s): %s",
        len(datasets_of),
        len({d for ds in datasets_of.values() for d in ds}),
        "; ".join(
            f"{iso} ({', '.join(ds)})" for iso, ds in sorted(datasets_of.items())
        ),
    )
    reports = {}
    for split in SPLITS:
        report = SetReport(
            split, names[split], outdir / names[split], transcripts[split]
        )
        limit = max_train_seconds if split == "train" else math.inf
        kept = select(by_split[split], report, limit, lid)
        files = data_dir_files(kept)
        report.written = [
            name
            for name, lines in files.items()
            if write_lines_if_changed(report.data_dir / name, lines)
        ]
        report.seconds = sum(u.seconds for u, _ in kept.values())
        rates = Counter(u.rate for u, _ in kept.values())
        logging.info(
            "%s: %d utterances (%.1f min) of %d language(s) from %s -> %s (%d files"
            " written, %d unchanged); sample rates: %s",
            report.name,
            report.num_utterances,
            report.seconds / 60,
            sum(1 for c in report.langs.values() if c.kept),
            report.transcript,
            report.data_dir,
            len(report.written),
            len(files) - len(report.written),
            ", ".join(f"{r} Hz ({n})" for r, n in sorted(rates.items())) or "none",
        )
        if not kept:
            logging.warning(
                "%s: no utterance left - the later stages will refuse an empty data"
                " dir",
                report.name,
            )
        reports[split] = report
    stats = MlSuperbStats(reports, {iso: ds for iso, ds in sorted(datasets_of.items())})
    if nlsyms_out is not None:
        tags = sorted(lid_tag(iso) for iso in datasets_of)
        written = write_lines_if_changed(Path(nlsyms_out), tags)
        logging.info(
            "%s: %d language tags (%s)",
            nlsyms_out,
            len(tags),
            "written" if written else "unchanged",
        )
        stats.nlsyms = Path(nlsyms_out)
    return stats


def problem_summary(e: MlSuperbInputError) -> str:
    """The one-line error of the CLI (the full list is logged before it)."""
    return (
        f"{len(e.problems)} problem(s) in the ML-SUPERB tree, nothing written (the"
        f" first: {e.problems[0]}) - fix them (see the list above) and rerun stage 1"
    )


def str2bool(value: str) -> bool:
    """``true``/``false`` (also ``yes``/``no``, ``1``/``0``) as ESPnet's options."""
    lowered = value.lower()
    if lowered in ("true", "yes", "1"):
        return True
    if lowered in ("false", "no", "0"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {value!r}")


def get_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--root",
        type=Path,
        required=True,
        help="folder holding the dataset folders (MLSUPERB in db.sh)",
    )
    parser.add_argument("--outdir", type=Path, default=Path("data"))
    parser.add_argument("--duration", default="10min", choices=DURATIONS)
    parser.add_argument(
        "--langs",
        nargs="+",
        default=None,
        help="ISO 639-3 codes to read (default: every language, the multilingual"
        " track)",
    )
    parser.add_argument(
        "--datasets", nargs="+", default=None, help="dataset folders (default: all)"
    )
    parser.add_argument(
        "--lid",
        type=str2bool,
        default=False,
        help="start every text with its language tag, [iso] (true|false)",
    )
    parser.add_argument(
        "--max_train_seconds",
        type=float,
        default=MAX_TRAIN_SECONDS,
        help="skip longer train utterances (default %(default)s; inf keeps all)",
    )
    parser.add_argument("--train_set", default=None, help="default train_<duration>")
    parser.add_argument("--dev_set", default=None, help="default dev_<duration>")
    parser.add_argument("--test_set", default=None, help="default test_<duration>")
    parser.add_argument(
        "--nlsyms_out",
        type=Path,
        default=None,
        help="with --lid true: write the language tags here, one a line",
    )
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = get_args(argv)
    setup_logging()
    try:
        prepare_ml_superb(
            args.root,
            args.outdir,
            args.duration,
            args.langs,
            args.lid,
            args.max_train_seconds,
            args.train_set,
            args.dev_set,
            args.test_set,
            args.datasets,
            args.nlsyms_out,
        )
    except MlSuperbInputError as e:
        logging.error(str(e))
        raise ValueError(problem_summary(e)) from e


if __name__ == "__main__":
    from espnet2_ext.utils.deps import run_cli

    run_cli(main, input_errors=True)
