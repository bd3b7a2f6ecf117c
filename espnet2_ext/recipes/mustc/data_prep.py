"""Stage 1 of ``egs2/mustc/st1``: MuST-C English-to-X as Kaldi data dirs.

Usage::

    python -m espnet2_ext.recipes.mustc.data_prep --mustc_root /data/MUSTC_v1.0 \\
        --tgt_lang de [--sets train dev tst-COMMON tst-HE] --outdir data \\
        [--drop_duplicates]

MuST-C is not distributed with this project: obtain it from FBK yourself
(https://ict.fbk.eu/must-c/; it is released under its own licence, CC BY-NC-ND 4.0 at
the time of writing - read and accept FBK's terms), unpack it, and point the recipe's
``db.sh`` variable ``MUST_C`` (``--mustc_root``) at the folder that holds ``en-de/``,
``en-fr/``... Nothing is downloaded here.

Reads (MuST-C v1 and v2 share this layout; v1 has en-de, en-fr, en-es, ..., v2
en-de)::

    ${MUST_C}/en-<tgt>/data/<set>/wav/ted_<talk>.wav    one recording per talk
    ${MUST_C}/en-<tgt>/data/<set>/txt/<set>.yaml        one segment per line
    ${MUST_C}/en-<tgt>/data/<set>/txt/<set>.en          its transcript, line-aligned
    ${MUST_C}/en-<tgt>/data/<set>/txt/<set>.<tgt>       its translation, line-aligned

``<set>`` is ``train``, ``dev``, ``tst-COMMON`` or ``tst-HE``. A yaml line is one
record of a flow-style list; the released files look like this (times in seconds;
one line in the file, folded here)::

    - {duration: 3.500000, offset: 16.730000, rW: 9, uW: 0, speaker_id: spk.767,
       wav: ted_767.wav}

Only ``duration``, ``offset`` and ``wav`` are read; other keys (``rW``, ``uW``,
``speaker_id``, the extra keys of v2) are ignored. Each line is parsed on its own, so a
bad line is reported with its number.

Writes, for each set, ``<outdir>/<set>.en-<tgt>/`` (the set names of ESPnet's must_c
recipes, e.g. ``train.en-de``, ``tst-COMMON.en-de``)::

    wav.scp      ted_00767 /abs/path/to/wav/ted_767.wav   (one per talk, no cut copies)
    segments     ted_00767_0016730_0020230 ted_00767 16.730 20.230
    utt2spk      ted_00767_0016730_0020230 ted_00767      (speaker = talk)
    spk2utt      ted_00767 ted_00767_0016730_0020230 ...
    text.tc.en, text.lc.en, text.lc.rm.en              the transcript in 3 cases
    text.tc.<tgt>, text.lc.<tgt>, text.lc.rm.<tgt>     the translation in 3 cases
    text.en      = text.lc.rm.en    (what egs2/TEMPLATE/st1/st.sh reads)
    text.<tgt>   = text.tc.<tgt>

The ids are ESPnet's: ``ted_%05d`` of the talk number, then start and end in
milliseconds, ``%07d``, so that C-locale sort order is talk order, then time order; the
``segments`` times are those milliseconds in seconds (3 decimals, so they agree with
the id). ESPnet's ``--src_case lc.rm --tgt_case tc`` read the ``text.<case>.<lang>``
files; our driver reads ``text.en`` / ``text.<tgt>``.

Text, as ESPnet's ``local/data_prep.sh`` does it, each step logged with the number of
lines it changed:

- ``tc`` (true case): Moses' punctuation normalisation (``sacremoses``'
  ``MosesPunctNormalizer(lang)``, the Python port of ``normalize-punctuation.perl``:
  curly quotes to straight ones, dashes, spaces around parentheses, ...), whitespace
  collapsed;
- ``lc``: ``tc`` lowercased;
- ``lc.rm``: ``lc`` without punctuation, as ESPnet's ``remove_punctuation.pl``
  (``[[:punct:]]`` deleted except the apostrophe: Unicode punctuation plus the ASCII
  symbols ``$+<=>^`|~``; "well-known" becomes "wellknown", "$5,000" "5000").

Tags such as "(Applause)" stay: "(Applause)" in ``tc`` and ``lc``, the word "applause"
in ``lc.rm``, as in ESPnet's data; the scorer can remove them from references
(``espnet2_ext.scoring.text_norm``). Unlike ESPnet, the text is not Moses-tokenised
(our driver scores detokenised text with sacreBLEU), and the perl script's quirks are
not copied (``’`` becomes ``'``, sacremoses' default; a literal word "apostrophe"
stays).

Segments, as ESPnet: one shorter than 0.2 s is widened to 0.2 s around its centre
(within the recording) rather than dropped. Times are rounded to milliseconds half up,
in decimal arithmetic.

Dropped, with a warning that counts them and names the first few ``file:line``: a
segment whose transcript or translation is empty once normalised (no word left in
``lc.rm``: a blank line, or only "..."): ST training needs both sides, and an empty
target is no translation.

Checked before anything is written, every problem of every set collected (20 shown,
then "... and N more"), each as ``path:line: what is wrong - what to do``; then a
``ValueError`` (the CLI: one ``espnet2_ext: error:`` line after the logged list, exit
status 1):

- the ``en-<tgt>`` folder, a set folder, its ``wav/`` or a ``txt`` file is missing (the
  message says how to obtain MuST-C and where to set ``MUST_C``);
- the yaml is empty, or the yaml, ``.en`` and ``.<tgt>`` files have different line
  counts (names both files, both counts and the first line without a partner);
- a yaml line is malformed (not a one-record mapping, a missing key, a duration or
  offset that is not a number, negative or not finite, a wav not ``ted_<n>.wav``);
- a text line is not UTF-8 (the byte offset);
- a wav named by the yaml is missing, unreadable by soundfile, or truncated (its
  header declares more samples than the file holds: a partial copy); named once, at
  its first line;
- a segment ends more than 10 ms (MuST-C's rounding) past the end of its wav, whose
  length comes from its header;
- two segments of a talk have the same start and end (the same id): an error naming
  both lines, or with ``--drop_duplicates`` both are dropped and counted, as ESPnet's
  recipe does ("remove duplicated utterances").

Every file is written atomically and only when its content changed, so a re-run on the
same input changes no file (later stages hash them); identical input gives
byte-identical output.
"""

import argparse
import logging
import os
import re
import sys
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from espnet2_ext.fileio.audio_io import checked_wav_info
from espnet2_ext.fileio.data_checks import DataDirError
from espnet2_ext.fileio.input_report import examples, progress
from espnet2_ext.fileio.kaldi_io import format_kaldi_lines, read_utf8_lines
from espnet2_ext.utils.atomic import write_lines_if_changed
from espnet2_ext.utils.deps import require
from espnet2_ext.utils.log import setup_logging

SETS = ("train", "dev", "tst-COMMON", "tst-HE")
SRC_LANG = "en"
#: The text cases written, as ESPnet names them.
CASES = ("tc", "lc", "lc.rm")
#: The case of ``text.en`` and ``text.<tgt>``, the files our driver reads.
DRIVER_CASES = {"src": "lc.rm", "tgt": "tc"}
#: The keys of a yaml record that are read.
YAML_KEYS = ("duration", "offset", "wav")
#: How far a segment may end past its wav (MuST-C's times are rounded).
END_TOLERANCE = Decimal("0.010")
#: Shorter segments are widened to this length, as ESPnet's recipe does.
MIN_SEGMENT = Decimal("0.2")
#: What to do about a text line that is not UTF-8.
REENCODE = "re-extract the file from the MuST-C archive, or re-encode it as UTF-8"
FBK_URL = "https://ict.fbk.eu/must-c/"
INSTALL_SACREMOSES = "pip install -r requirements.txt (it pins sacremoses)"

_WAV_RE = re.compile(r"ted_([0-9]+)\.wav")
_TAG_RE = re.compile(r"\([^()]*\)")
_LANG_RE = re.compile(r"[a-z]{2,3}(-[a-z]{2,4})?")
_MS = Decimal(1000)


class MustcInputError(DataDirError):
    """The MuST-C tree failed the input checks; ``problems`` lists them all."""


@dataclass(frozen=True)
class Segment:
    """One yaml record, checked.

    Attributes:
        lineno: 1-based line of the yaml file.
        offset: start in seconds, as written.
        duration: length in seconds, as written.
        wav: the file name (``ted_767.wav``).
        talk: the recording and speaker id (``ted_00767``).
    """

    lineno: int
    offset: Decimal
    duration: Decimal
    wav: str
    talk: str

    @property
    def end(self) -> Decimal:
        return self.offset + self.duration


@dataclass
class Utterance:
    """One segment with its ids and texts."""

    utt: str
    talk: str
    start_ms: int
    end_ms: int
    lineno: int
    raw: Dict[str, str] = field(default_factory=dict)  # lang -> line as read
    texts: Dict[str, str] = field(default_factory=dict)  # "<case>.<lang>" -> text


@dataclass
class SetData:
    """What :func:`read_set` found in one set, before normalisation."""

    name: str  # e.g. "dev.en-de"
    txt_paths: Dict[str, Path]  # "yaml", "en", tgt -> path
    recordings: Dict[str, str]  # talk -> absolute wav path
    utterances: List[Utterance]
    hours: float = 0.0
    num_duplicates_dropped: int = 0


@dataclass
class SetReport:
    """What :func:`prepare_mustc` wrote for one set.

    Attributes:
        name: the data dir name (``dev.en-de``).
        data_dir: where it was written.
        num_utterances: utterances written.
        num_talks: recordings (talks) in ``wav.scp``.
        num_dropped_empty: segments dropped for an empty text.
        num_dropped_duplicates: segments dropped as duplicates (``drop_duplicates``).
        hours: audio of the written utterances.
        written: files written (their content changed); the others were unchanged.
    """

    name: str
    data_dir: Path
    num_utterances: int
    num_talks: int
    num_dropped_empty: int
    num_dropped_duplicates: int
    hours: float
    written: List[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------
# Text


@lru_cache(maxsize=1)
def _punct_re() -> "re.Pattern[str]":
    # Perl's [[:punct:]] on decoded text: \p{Punct} plus the ASCII symbols; ESPnet's
    # remove_punctuation.pl keeps the apostrophe.
    chars = {
        chr(c)
        for c in range(sys.maxunicode + 1)
        if unicodedata.category(chr(c)).startswith("P")
    }
    chars |= set("$+<=>^`|~")
    chars.discard("'")
    return re.compile("[" + re.escape("".join(sorted(chars))) + "]")


def collapse(line: str) -> str:
    """Runs of whitespace (any Unicode space or separator) to one space; stripped."""
    return " ".join(line.split())


def remove_punctuation(line: str) -> str:
    """``line`` without punctuation except ``'``, as ESPnet's remove_punctuation.pl.

    Example::

        >>> remove_punctuation('"don\\'t panic," she said - (applause)')
        "don't panic she said applause"
    """
    return collapse(_punct_re().sub("", line))


@lru_cache(maxsize=None)
def punct_normalizer(lang: str):
    """sacremoses' ``MosesPunctNormalizer`` for ``lang`` (its default options)."""
    moses = require(
        "sacremoses",
        INSTALL_SACREMOSES,
        "MuST-C data preparation (Moses punctuation normalisation)",
    )
    return moses.MosesPunctNormalizer(lang=lang)


def text_cases(line: str, lang: str) -> Dict[str, str]:
    """``{"tc": ..., "lc": ..., "lc.rm": ...}`` of one transcript or translation.

    Example::

        >>> text_cases("“Don’t panic,” she said.(Applause)", "en")["tc"]
        '"Don\\'t panic," she said. (Applause)'
    """
    tc = collapse(punct_normalizer(lang).normalize(line))
    lc = tc.lower()
    return {"tc": tc, "lc": lc, "lc.rm": remove_punctuation(lc)}


# ---------------------------------------------------------------------------------
# Reading the raw tree


def _obtain_hint(root: Path, tgt_lang: str) -> str:
    return (
        f"MuST-C is not shipped with this recipe: obtain it from FBK ({FBK_URL}),"
        f" unpack it and set MUST_C in db.sh (--mustc_root, now '{root}') to the"
        f" folder that holds en-{tgt_lang}/"
    )


def check_layout(
    root: Path, tgt_lang: str, sets: Sequence[str]
) -> Tuple[List[str], List[str]]:
    """The folders and txt files of ``sets``.

    Returns:
        ``(problems, complete)``: one problem per missing path (the ``en-<tgt>``
        folder alone when it is missing), and the sets that have all their files.
    """
    pair = f"{SRC_LANG}-{tgt_lang}"
    lang_dir = root / pair
    hint = _obtain_hint(root, tgt_lang)
    if not lang_dir.is_dir():
        if not root.is_dir():
            return [f"{root}: no such directory (the MuST-C root) - {hint}"], []
        found = sorted(p.name for p in root.glob(f"{SRC_LANG}-*") if p.is_dir())
        if root.name == pair and (root / "data").is_dir():
            where = f"; '{root}' is en-{tgt_lang}/ itself: give its parent"
        elif found:
            where = f"; found here: {', '.join(found)}"
        else:
            where = ""
        return [
            f"{lang_dir}: no such directory (MuST-C en-{tgt_lang}){where} - {hint}"
        ], []
    problems: List[str] = []
    complete = []
    for name in sets:
        set_dir = lang_dir / "data" / name
        if not set_dir.is_dir():
            problems.append(
                f"{set_dir}: no such directory (set '{name}' of MuST-C {pair};"
                f" sets: {', '.join(SETS)}) - {hint}"
            )
            continue
        missing = [
            f"{path}: missing (set '{name}' of MuST-C {pair} is incomplete) - unpack"
            f" the archive again; {hint}"
            for path in (set_dir / "wav", *_txt_paths(set_dir, name, tgt_lang).values())
            if not (path.is_dir() if path.name == "wav" else path.is_file())
        ]
        problems += missing
        if not missing:
            complete.append(name)
    return problems, complete


def _txt_paths(set_dir: Path, name: str, tgt_lang: str) -> Dict[str, Path]:
    txt = set_dir / "txt"
    return {
        "yaml": txt / f"{name}.yaml",
        SRC_LANG: txt / f"{name}.{SRC_LANG}",
        tgt_lang: txt / f"{name}.{tgt_lang}",
    }


@lru_cache(maxsize=1)
def _yaml():
    """PyYAML and its fastest safe loader (libyaml's when PyYAML was built with it)."""
    import yaml

    return yaml, getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _number(value) -> Optional[Decimal]:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def parse_yaml_line(line: str, lineno: int, path: Path):
    """One yaml line as a :class:`Segment`, or the problem (a string).

    The line must be a one-record flow list, ``- {duration: D, offset: O, ...,
    wav: ted_<n>.wav}``, with ``duration`` > 0 and ``offset`` >= 0 numbers.
    """
    yaml, loader = _yaml()
    where = f"{path}:{lineno}"
    fix = (
        "fix the line (the released format is '- {duration: 3.500000, offset:"
        " 16.730000, ..., wav: ted_767.wav}') or re-extract the file"
    )
    try:
        value = yaml.load(line, Loader=loader)
    except yaml.YAMLError as e:
        reason = str(e).splitlines()[0]
        return f"{where}: not valid YAML ({reason}): {line[:80]!r} - {fix}"
    if not (isinstance(value, list) and len(value) == 1 and isinstance(value[0], dict)):
        return (
            f"{where}: not a one-record mapping '- {{key: value, ...}}':"
            f" {line[:80]!r} - {fix}"
        )
    record = value[0]
    missing = [k for k in YAML_KEYS if k not in record]
    if missing:
        names = ", ".join(f"'{k}'" for k in missing)
        return f"{where}: missing key {names} - {fix}"
    numbers = {}
    for key, what in (("duration", "> 0"), ("offset", ">= 0")):
        number = _number(record[key])
        if number is None or not (number > 0 if key == "duration" else number >= 0):
            return (
                f"{where}: {key} {record[key]!r} is not a number {what} (seconds) -"
                f" {fix}"
            )
        numbers[key] = number
    wav = record["wav"]
    match = _WAV_RE.fullmatch(wav) if isinstance(wav, str) else None
    if not match:
        return f"{where}: wav {wav!r} is not a file name 'ted_<number>.wav' - {fix}"
    return Segment(
        lineno,
        numbers["offset"],
        numbers["duration"],
        wav,
        f"ted_{int(match.group(1)):05d}",
    )


def _ms(seconds: Decimal) -> int:
    return int((seconds * _MS).to_integral_value(rounding=ROUND_HALF_UP))


def segment_times(seg: Segment, wav_seconds: Decimal) -> Tuple[int, int]:
    """Start and end of ``seg`` in milliseconds, widened to 0.2 s as ESPnet does.

    The widening (half before, half after) stays within ``[0, wav end]``, or the
    segment's own end when that lies past the wav (within the tolerance).
    """
    start, end = seg.offset, seg.end
    if seg.duration < MIN_SEGMENT:
        extend = (MIN_SEGMENT - seg.duration) / 2
        start = max(Decimal(0), start - extend)
        end = min(max(end, wav_seconds), end + extend)
    return _ms(start), _ms(end)


def read_set(
    root: Path, tgt_lang: str, name: str, drop_duplicates: bool = False
) -> Tuple[Optional[SetData], List[str]]:
    """Reads and checks one set whose folders and txt files exist.

    Args:
        root: the MuST-C root (holds ``en-<tgt>/``).
        tgt_lang: the target language.
        name: the set (``train``, ``dev``, ...).
        drop_duplicates: drop segments with the same id instead of failing.

    Returns:
        ``(data, problems)``: data is None when there are problems.
    """
    set_dir = root / f"{SRC_LANG}-{tgt_lang}" / "data" / name
    paths = _txt_paths(set_dir, name, tgt_lang)
    yaml_path = paths["yaml"]
    problems: List[str] = []
    lines: Dict[str, List[Optional[str]]] = {}
    for key, path in paths.items():
        lines[key], file_problems = read_utf8_lines(path, REENCODE)
        problems += file_problems

    # 1. line counts
    counts = {key: len(v) for key, v in lines.items()}
    if counts["yaml"] == 0:
        problems.append(
            f"{yaml_path}: empty (no segment) - re-extract the set from the MuST-C"
            " archive, or leave the set out of --sets"
        )
    for key in (SRC_LANG, tgt_lang):
        n_yaml, n_text = counts["yaml"], counts[key]
        if n_yaml != n_text:
            longer, shorter = (
                (yaml_path, paths[key]) if n_yaml > n_text else (paths[key], yaml_path)
            )
            first = min(n_yaml, n_text) + 1
            problems.append(
                f"{longer}:{first}: line {first} has no partner in {shorter.name}"
                f" ({yaml_path.name} has {n_yaml} lines, {paths[key].name} has"
                f" {n_text}; the files are line-aligned) - the files must have one line"
                " per segment: re-extract the set from the MuST-C archive"
            )

    # 2. yaml records
    segments: List[Segment] = []
    for lineno, line in enumerate(lines["yaml"], start=1):
        if line is None:
            continue  # not UTF-8: reported
        seg = parse_yaml_line(line, lineno, yaml_path)
        if isinstance(seg, str):
            problems.append(seg)
        else:
            segments.append(seg)

    # 3. wavs: one header per talk
    by_wav: Dict[str, List[Segment]] = defaultdict(list)
    for seg in segments:
        by_wav[seg.wav].append(seg)
    wav_dir = set_dir / "wav"
    infos: Dict[str, Tuple[int, int]] = {}
    for wav in progress(sorted(by_wav), f"{name} wav headers", "wav"):
        path = wav_dir / wav
        info, what = checked_wav_info(path)
        if info is None:
            first = by_wav[wav][0]
            problems.append(
                f"{yaml_path}:{first.lineno}: wav '{wav}' {what} ({path}; named by"
                f" {len(by_wav[wav])} line(s) of {yaml_path.name}) - restore the file"
                " from the MuST-C archive"
            )
        else:
            infos[wav] = info
    talks_of_wav = {seg.wav: seg.talk for seg in segments}

    # 4. segments inside their wav; ids
    recordings: Dict[str, str] = {}
    utterances: List[Utterance] = []
    for seg in segments:
        if seg.wav not in infos:
            continue
        frames, rate = infos[seg.wav]
        wav_seconds = Decimal(frames) / Decimal(rate)
        if seg.end > wav_seconds + END_TOLERANCE:
            problems.append(
                f"{yaml_path}:{seg.lineno}: segment ends at {seg.end} s (offset"
                f" {seg.offset} + duration {seg.duration}) but {seg.wav} is"
                f" {wav_seconds:.3f} s long ({frames} samples at {rate} Hz) -"
                " restore the wav from the MuST-C archive or fix the line"
            )
            continue
        start_ms, end_ms = segment_times(seg, wav_seconds)
        utt = f"{seg.talk}_{start_ms:07d}_{end_ms:07d}"
        utterances.append(Utterance(utt, seg.talk, start_ms, end_ms, seg.lineno))
        recordings[seg.talk] = os.path.abspath(wav_dir / seg.wav)
    problems += _talk_clashes(talks_of_wav, yaml_path, by_wav)

    # 5. duplicates
    utterances, dup_problems, n_dups = _duplicates(
        utterances, yaml_path, paths, drop_duplicates
    )
    problems += dup_problems
    if problems:
        return None, problems
    for u in utterances:
        for key in (SRC_LANG, tgt_lang):
            u.raw[key] = lines[key][u.lineno - 1]
    seconds = sum(frames / rate for frames, rate in infos.values())
    logging.info(
        "%s: %d segments of %d talks, %.2f h of audio (wav headers read)",
        name,
        len(utterances),
        len(recordings),
        seconds / 3600,
    )
    return (
        SetData(
            f"{name}.{SRC_LANG}-{tgt_lang}",
            paths,
            recordings,
            utterances,
            hours=seconds / 3600,
            num_duplicates_dropped=n_dups,
        ),
        [],
    )


def _talk_clashes(talks_of_wav, yaml_path: Path, by_wav) -> List[str]:
    """Two wav names giving one talk id (``ted_767.wav`` and ``ted_0767.wav``)."""
    problems = []
    seen: Dict[str, str] = {}
    for wav in sorted(talks_of_wav):
        talk = talks_of_wav[wav]
        if talk in seen:
            problems.append(
                f"{yaml_path}:{by_wav[wav][0].lineno}: wav '{wav}' gives the talk id"
                f" '{talk}' of '{seen[talk]}' (line {by_wav[seen[talk]][0].lineno}) -"
                " rename one of them"
            )
        else:
            seen[talk] = wav
    return problems


def _duplicates(
    utterances: List[Utterance],
    yaml_path: Path,
    paths: Dict[str, Path],
    drop: bool,
) -> Tuple[List[Utterance], List[str], int]:
    """Utterances without repeated ids; the problems, or the number dropped."""
    first: Dict[str, Utterance] = {}
    repeated = set()
    problems = []
    for u in utterances:
        if u.utt not in first:
            first[u.utt] = u
            continue
        repeated.add(u.utt)
        if not drop:
            names = ", ".join(p.name for p in paths.values())
            problems.append(
                f"{yaml_path}:{u.lineno}: utterance id '{u.utt}' repeats line"
                f" {first[u.utt].lineno} (same talk, start and end) - remove one of the"
                f" two lines from {names}, or rerun with --drop_duplicates (drops both,"
                " as ESPnet's recipe does)"
            )
    if not drop or not repeated:
        return utterances, problems, 0
    kept = [u for u in utterances if u.utt not in repeated]
    return kept, [], len(utterances) - len(kept)


# ---------------------------------------------------------------------------------
# Normalising and writing


def normalize_set(data: SetData, tgt_lang: str) -> Tuple[List[Utterance], int]:
    """Fills ``u.texts`` (``"tc.en"``, ``"lc.rm.de"``...); drops empty ones.

    Returns:
        ``(kept, number dropped)``. The steps are logged with the lines they changed.
    """
    langs = (SRC_LANG, tgt_lang)
    texts: Dict[str, Dict[str, str]] = {}
    changed = {(lang, step): 0 for lang in langs for step in ("norm", "lc", "rm")}
    tagged = {lang: 0 for lang in langs}
    empty: List[Tuple[str, str]] = []  # (utt, file:line)
    for u in data.utterances:
        cases = {}
        for lang in langs:
            raw = u.raw[lang]
            lang_cases = text_cases(raw, lang)
            changed[lang, "norm"] += lang_cases["tc"] != collapse(raw)
            changed[lang, "lc"] += lang_cases["lc"] != lang_cases["tc"]
            changed[lang, "rm"] += lang_cases["lc.rm"] != lang_cases["lc"]
            tagged[lang] += bool(_TAG_RE.search(lang_cases["tc"]))
            if not lang_cases["lc.rm"]:
                empty.append((u.utt, f"{data.txt_paths[lang]}:{u.lineno}"))
            for case, text in lang_cases.items():
                cases[f"{case}.{lang}"] = text
        texts[u.utt] = cases
    for lang in langs:
        logging.info(
            "%s: %s text of %d segments: Moses punctuation normalisation changed %d"
            " lines (tc), lowercasing %d (lc), punctuation removal %d (lc.rm); %d"
            " lines have a tag like '(Applause)', kept (as 'applause' in lc.rm)",
            data.name,
            lang,
            len(data.utterances),
            changed[lang, "norm"],
            changed[lang, "lc"],
            changed[lang, "rm"],
            tagged[lang],
        )
    dropped = {utt for utt, _ in empty}
    if dropped:
        logging.warning(
            "%s: dropped %d of %d segments whose transcript or translation is empty"
            " after normalisation (no word left in lc.rm): %s",
            data.name,
            len(dropped),
            len(data.utterances),
            examples([where for _, where in empty]),
        )
    kept = []
    for u in data.utterances:
        if u.utt not in dropped:
            u.texts = texts[u.utt]
            kept.append(u)
    return kept, len(dropped)


def data_dir_files(
    utterances: Sequence[Utterance], recordings: Dict[str, str], tgt_lang: str
) -> Dict[str, List[str]]:
    """The lines of every file of a data dir, sorted in C-locale order."""
    talks = {u.talk for u in utterances}
    files = {
        "wav.scp": format_kaldi_lines({t: recordings[t] for t in talks}),
        "segments": format_kaldi_lines(
            {
                u.utt: f"{u.talk} {u.start_ms // 1000}.{u.start_ms % 1000:03d}"
                f" {u.end_ms // 1000}.{u.end_ms % 1000:03d}"
                for u in utterances
            }
        ),
        "utt2spk": format_kaldi_lines({u.utt: u.talk for u in utterances}),
    }
    spk2utt: Dict[str, List[str]] = defaultdict(list)
    for u in utterances:
        spk2utt[u.talk].append(u.utt)
    files["spk2utt"] = format_kaldi_lines(
        {t: " ".join(sorted(utts, key=str.encode)) for t, utts in spk2utt.items()}
    )
    for lang in (SRC_LANG, tgt_lang):
        for case in CASES:
            key = f"{case}.{lang}"
            files[f"text.{key}"] = format_kaldi_lines(
                {u.utt: u.texts[key] for u in utterances}
            )
    files[f"text.{SRC_LANG}"] = files[f"text.{DRIVER_CASES['src']}.{SRC_LANG}"]
    files[f"text.{tgt_lang}"] = files[f"text.{DRIVER_CASES['tgt']}.{tgt_lang}"]
    return files


def prepare_mustc(
    mustc_root: Path,
    tgt_lang: str,
    outdir: Path,
    sets: Sequence[str] = SETS,
    drop_duplicates: bool = False,
) -> List[SetReport]:
    """Checks the MuST-C sets, then writes ``outdir/<set>.en-<tgt>/`` for each.

    Args:
        mustc_root: the folder holding ``en-<tgt>/`` (``MUST_C`` of ``db.sh``).
        tgt_lang: the target language (``de``, ``fr``, ...).
        outdir: where the data dirs go (``data``).
        sets: the sets to prepare.
        drop_duplicates: drop segments with the same talk, start and end (all copies)
            instead of failing.

    Returns:
        One report per set, in the order of ``sets``.

    Raises:
        MustcInputError: every problem found in the tree (nothing is written).
    """
    mustc_root, outdir = Path(mustc_root), Path(outdir)
    if not _LANG_RE.fullmatch(tgt_lang) or tgt_lang == SRC_LANG:
        raise ValueError(
            f"--tgt_lang {tgt_lang!r}: not a target language code - give the X of"
            f" MuST-C's en-X folder, e.g. de"
        )
    if len(set(sets)) != len(sets) or not sets:
        raise ValueError(f"--sets {' '.join(sets)}: give each set once")
    lang_dir = mustc_root / f"{SRC_LANG}-{tgt_lang}"
    problems, complete = check_layout(mustc_root, tgt_lang, sets)
    found: List[SetData] = []
    for name in complete:
        data, set_problems = read_set(mustc_root, tgt_lang, name, drop_duplicates)
        problems += set_problems
        if data is not None:
            found.append(data)
    if problems:
        raise MustcInputError(lang_dir if lang_dir.is_dir() else mustc_root, problems)

    reports = []
    for data in found:
        if data.num_duplicates_dropped:
            logging.warning(
                "%s: dropped %d segments that share their id (talk, start and end)"
                " with another (--drop_duplicates)",
                data.name,
                data.num_duplicates_dropped,
            )
        utterances, n_empty = normalize_set(data, tgt_lang)
        data_dir = outdir / data.name
        files = data_dir_files(utterances, data.recordings, tgt_lang)
        written = [
            fname
            for fname, lines in files.items()
            if write_lines_if_changed(data_dir / fname, lines)
        ]
        talks = {u.talk for u in utterances}
        hours = sum(u.end_ms - u.start_ms for u in utterances) / 3_600_000
        report = SetReport(
            data.name,
            data_dir,
            len(utterances),
            len(talks),
            n_empty,
            data.num_duplicates_dropped,
            hours,
            written,
        )
        logging.info(
            "%s: %d utterances (%.2f h of speech, %.2f h of audio) from %d talks -> %s"
            " (%d files written, %d unchanged)",
            data.name,
            report.num_utterances,
            hours,
            data.hours,
            report.num_talks,
            data_dir,
            len(written),
            len(files) - len(written),
        )
        reports.append(report)
    return reports


def problem_summary(e: MustcInputError) -> str:
    """The one-line error of the CLI (the full list is logged before it)."""
    return (
        f"{len(e.problems)} problem(s) in the MuST-C tree, nothing written (the first:"
        f" {e.problems[0]}) - fix them (see the list above) and rerun stage 1"
    )


def get_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--mustc_root",
        type=Path,
        required=True,
        help="folder holding en-<tgt>/ (MUST_C in db.sh)",
    )
    parser.add_argument("--tgt_lang", required=True, help="target language, e.g. de")
    parser.add_argument(
        "--sets", nargs="+", default=list(SETS), help="sets to prepare (default: all)"
    )
    parser.add_argument("--outdir", type=Path, default=Path("data"))
    parser.add_argument(
        "--drop_duplicates",
        action="store_true",
        help="drop segments sharing talk, start and end (all copies) instead of"
        " failing",
    )
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = get_args(argv)
    setup_logging()
    try:
        prepare_mustc(
            args.mustc_root, args.tgt_lang, args.outdir, args.sets, args.drop_duplicates
        )
    except MustcInputError as e:
        logging.error(str(e))
        raise ValueError(problem_summary(e)) from e


if __name__ == "__main__":
    from espnet2_ext.utils.deps import run_cli

    run_cli(main, input_errors=True)
