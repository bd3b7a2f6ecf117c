"""A miniature ML-SUPERB tree in the released layout, for tests and smoke runs.

Usage::

    python -m espnet2_ext.recipes.ml_superb.fake_corpus --root DIR \\
        [--datasets fleurs:eng,fra cv:fra] [--per_split 3] [--seed 0] \\
        [--long_train_seconds 21]

Writes, for each dataset and language (the layout
:mod:`espnet2_ext.recipes.ml_superb.data_prep` reads)::

    DIR/<dataset>/<iso>/wav/<prefix>_<iso>_<number>.wav   16 kHz mono PCM16, 0.3-1.0 s
    DIR/<dataset>/<iso>/transcript_10min_train.txt        "<utt> <seconds> <text>"
    DIR/<dataset>/<iso>/transcript_1h_train.txt           the 10min lines and more
    DIR/<dataset>/<iso>/transcript_10min_dev.txt
    DIR/<dataset>/<iso>/transcript_10min_test.txt

The ids are ``<prefix>_<iso>_%06d``, numbered per folder (train, then dev, then
test); the prefix is the dataset name, or the release's abbreviation
(:data:`ID_PREFIX`: ``commonvoice`` -> ``cv``). As in the release, the 1-hour train
file holds the 10-minute one's utterances and more; each file lists its lines in a
shuffled order, so sorting matters. The second field of a line is the wav's length in
seconds (readers ignore it). Texts are real sentences with mixed case, punctuation,
non-ASCII letters (French accents, German umlauts, Lithuanian ogoneks) and a
``[laughter]``-style tag, so the normalisation has work; none is empty once
normalised. The audio is a tone (its pitch set by the sentence) over quiet noise.

``long_train_seconds`` makes the first 10-minute train utterance of the first folder
(sorted) that long, to exercise the 20 s limit on training utterances.

Deterministic: the same arguments give byte-identical files. Files are written
atomically; an existing tree is overwritten.

Example::

    >>> rows = build_fake_ml_superb(tmp_path / "mls")
    >>> rows[0].utt, rows[0].split
    ('cv_fra_000002', '10min_train')
"""

import argparse
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Union

import numpy as np

from espnet2_ext.utils.atomic import write_text_atomic, write_wav_atomic
from espnet2_ext.utils.log import setup_logging

FS = 16000
#: The transcript files of a language folder, ``transcript_<name>.txt``.
SPLIT_FILES = ("10min_train", "1h_train", "10min_dev", "10min_test")
DEFAULT_DATASETS: Dict[str, List[str]] = {"fleurs": ["eng", "fra"], "cv": ["fra"]}
#: Lines per file; the 1h train file repeats the 10min train lines and adds some.
DEFAULT_PER_SPLIT: Dict[str, int] = {
    "10min_train": 3,
    "1h_train": 5,
    "10min_dev": 2,
    "10min_test": 2,
}
#: Id prefixes of the release that are not the dataset folder name.
ID_PREFIX = {
    "commonvoice": "cv",
    "googlei18n_asr": "googlei18n-asr",
    "googlei18n_tts": "googlei18n-tts",
}
SECONDS = (0.3, 1.0)

#: Sentences per language: case, punctuation, accents and a tag on purpose.
SENTENCES: Dict[str, List[str]] = {
    "eng": [
        "Hello, world!",
        "It's a well-known fact: (nobody) asked.",
        "Why? Because Dr. Smith said so.",
        "Thank you very much [laughter] really.",
        "The ocean is huge; we've explored 5% of it.",
        "Don't PANIC -- twice.",
    ],
    "fra": [
        "Où est l'étagère ?",
        "Ça coûte cinq euros, n'est-ce pas ?",
        "Élève, ouvrez la fenêtre !",
        "Le garçon a mangé [bruit] une crêpe.",
        "Noël approche ; l'hiver est là.",
        "« Bonjour », dit-elle.",
    ],
    "deu": [
        "Schöne Grüße aus München!",
        "Die Straße ist naß; fahr vorsichtig.",
        "Über den Wolken [lachen] ist es still.",
        "Wie spät ist es? Halb zwölf.",
    ],
    "lit": [
        "Labas rytas, pasauli!",
        "Ąžuolas auga šalia upės.",
        "Ačiū [juokas] labai.",
        "Kur tu eini?",
    ],
}
LANGS = tuple(sorted(SENTENCES))


@dataclass(frozen=True)
class FakeRow:
    """One transcript line written.

    Attributes:
        dataset: the dataset folder.
        iso: the language folder.
        split: the transcript file, one of :data:`SPLIT_FILES`.
        lineno: its 1-based line in that file.
        utt: the utterance id.
        text: the raw text written.
        wav: the wav path.
        seconds: the wav's length.
    """

    dataset: str
    iso: str
    split: str
    lineno: int
    utt: str
    text: str
    wav: Path
    seconds: float


def _per_split(per_split: Union[int, Mapping[str, int]]) -> Dict[str, int]:
    if isinstance(per_split, int):
        counts = {name: per_split for name in SPLIT_FILES}
        counts["1h_train"] = 2 * per_split
    else:
        counts = dict(DEFAULT_PER_SPLIT, **per_split)
    unknown = set(counts) - set(SPLIT_FILES)
    if unknown:
        raise ValueError(f"unknown files {sorted(unknown)}; give some of {SPLIT_FILES}")
    if any(n < 1 for n in counts.values()):
        raise ValueError(f"per_split {counts}: give at least 1 line per file")
    if counts["1h_train"] < counts["10min_train"]:
        raise ValueError(
            f"per_split {counts}: the 1h train file holds the 10min one, give"
            " 1h_train >= 10min_train"
        )
    return counts


def _audio(rng: np.random.Generator, seconds: float, sentence: int) -> np.ndarray:
    """A tone (pitch set by ``sentence``) with 20 ms fades, over quiet noise."""
    n = int(round(seconds * FS))
    t = np.arange(n) / FS
    fade = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.02)
    tone = 0.3 * fade * np.sin(2 * np.pi * (200.0 + 35.0 * sentence) * t)
    return tone + 0.003 * rng.standard_normal(n)


def _write_folder(
    lang_dir: Path,
    prefix: str,
    iso: str,
    counts: Mapping[str, int],
    rng: np.random.Generator,
    long_seconds: Optional[float],
) -> List[FakeRow]:
    sentences = SENTENCES[iso]
    n_train = counts["1h_train"]
    groups = {
        "train": n_train,
        "10min_dev": counts["10min_dev"],
        "10min_test": counts["10min_test"],
    }
    utts: Dict[str, List[tuple]] = {}
    number = 1
    for group, n in groups.items():
        utts[group] = []
        for _ in range(n):
            utt = f"{prefix}_{iso}_{number:06d}"
            sentence = int(rng.integers(len(sentences)))
            seconds = round(float(rng.uniform(*SECONDS)), 2)
            if long_seconds is not None and number == 1:
                seconds = float(long_seconds)
            wav = lang_dir / "wav" / f"{utt}.wav"
            write_wav_atomic(wav, _audio(rng, seconds, sentence), FS)
            utts[group].append((utt, sentences[sentence], wav, seconds))
            number += 1
    files = {
        "10min_train": utts["train"][: counts["10min_train"]],
        "1h_train": utts["train"],
        "10min_dev": utts["10min_dev"],
        "10min_test": utts["10min_test"],
    }
    rows = []
    for split in SPLIT_FILES:
        order = [files[split][i] for i in rng.permutation(len(files[split]))]
        lines = []
        for lineno, (utt, text, wav, seconds) in enumerate(order, start=1):
            lines.append(f"{utt} {seconds:.2f} {text}\n")
            rows.append(
                FakeRow(
                    lang_dir.parent.name, iso, split, lineno, utt, text, wav, seconds
                )
            )
        write_text_atomic(lang_dir / f"transcript_{split}.txt", "".join(lines))
    return rows


def build_fake_ml_superb(
    root: Path,
    datasets: Mapping[str, Sequence[str]] = DEFAULT_DATASETS,
    per_split: Union[int, Mapping[str, int]] = DEFAULT_PER_SPLIT,
    seed: int = 0,
    long_train_seconds: Optional[float] = None,
) -> List[FakeRow]:
    """Writes a miniature ML-SUPERB tree under ``root``; returns the lines written.

    Args:
        root: the folder to hold the dataset folders (``MLSUPERB``; created).
        datasets: ``{dataset: [iso, ...]}``, languages among :data:`LANGS`.
        per_split: lines per transcript file (an int: that many in each, twice as
            many in the 1h train file), or a mapping over :data:`SPLIT_FILES` (files
            not named keep :data:`DEFAULT_PER_SPLIT`).
        seed: the random seed of sentences, lengths, order and audio.
        long_train_seconds: the length of the first 10min train utterance of the
            first folder (sorted by dataset, then language), e.g. 21 to exceed the
            20 s limit; None: every wav is 0.3-1.0 s.

    Returns:
        One row per transcript line, folder by folder (sorted), then file by file
        (:data:`SPLIT_FILES`), in line order.
    """
    root = Path(root)
    if not datasets:
        raise ValueError("datasets: give at least one {dataset: [iso, ...]}")
    for dataset, langs in datasets.items():
        unknown = [iso for iso in langs if iso not in SENTENCES]
        if unknown or not langs or len(set(langs)) != len(langs):
            raise ValueError(
                f"datasets[{dataset!r}] {list(langs)}: give each language once,"
                f" among {LANGS}"
            )
    if long_train_seconds is not None and not long_train_seconds > 0:
        raise ValueError(f"long_train_seconds {long_train_seconds}: give seconds > 0")
    counts = _per_split(per_split)
    rng = np.random.default_rng(seed)
    rows: List[FakeRow] = []
    first = True
    for dataset in sorted(datasets):
        prefix = ID_PREFIX.get(dataset, dataset)
        for iso in sorted(datasets[dataset]):
            lang_dir = root / dataset / iso
            long_seconds = long_train_seconds if first else None
            rows += _write_folder(lang_dir, prefix, iso, counts, rng, long_seconds)
            first = False
            logging.info("%s: %s", lang_dir, counts)
    return rows


def _dataset_arg(value: str):
    dataset, sep, langs = value.partition(":")
    if not sep or not dataset or not langs:
        raise argparse.ArgumentTypeError(
            f"{value!r}: give <dataset>:<iso>[,<iso>...], e.g. fleurs:eng,fra"
        )
    return dataset, langs.split(",")


def get_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, required=True, help="the MLSUPERB folder")
    parser.add_argument(
        "--datasets",
        nargs="+",
        type=_dataset_arg,
        default=None,
        help="<dataset>:<iso>[,<iso>...] (default: fleurs:eng,fra cv:fra)",
    )
    parser.add_argument(
        "--per_split",
        type=int,
        default=None,
        help="lines per transcript file (twice as many in the 1h train file)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--long_train_seconds", type=float, default=None)
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = get_args(argv)
    setup_logging()
    datasets = dict(args.datasets) if args.datasets else DEFAULT_DATASETS
    per_split = DEFAULT_PER_SPLIT if args.per_split is None else args.per_split
    rows = build_fake_ml_superb(
        args.root, datasets, per_split, args.seed, args.long_train_seconds
    )
    logging.info("%d transcript lines under %s", len(rows), args.root)
    print(args.root)


if __name__ == "__main__":
    from espnet2_ext.utils.deps import run_cli

    run_cli(main, input_errors=True)
