"""Builds ``mini_st``: synthetic English speech paired with human German/French/Spanish.

Usage::

    python -m espnet2_ext.corpora.mini_st --outdir data/mini_st \\
        --tgt_langs de fr es --seed 0 --nj 2 [--max_pairs N] \\
        [--download_dir downloads] [--overwrite]

The English sources and their human translations come from the gettext catalogs of
permissively licensed PyPI packages (:mod:`espnet2_ext.corpora.gettext_pairs`); the
English is spoken by flite and espeak-ng voices (:mod:`espnet2_ext.corpora.tts`) at a
random speed (and, for espeak-ng, pitch) per utterance. Sentences are split into
train/dev/test with no English sentence in two splits; dev and test are spoken only by
held-out voices. Everything is deterministic given ``--seed``.

Reads:
    ``<download_dir>/*.whl`` (downloaded with pip when missing, re-used after).
Writes (under ``--outdir``)::

    build_args.json                     what the build depends on (written first)
    wav/<spk>/<spk>-<pairid>.wav        16 kHz mono PCM16
    {train,dev,test}/wav.scp            <utt> <absolute wav path>
    {train,dev,test}/text.en            <utt> <English, as spoken>
    {train,dev,test}/text.<lang>        <utt> <translation>, one per target language
    {train,dev,test}/utt2spk, spk2utt
    README.md                           sources, licences, voices, counts
    .done                               written last

Every file is written to a temporary name and renamed, so an interrupted build leaves no
half-written file that looks finished; a re-run resumes (finished wavs are kept). A
re-run of a finished build with the same arguments does nothing; with other arguments it
stops and asks for a new ``--outdir`` or ``--overwrite``.
"""

import argparse
import hashlib
import json
import logging
import multiprocessing
import os
import random
import shutil
import sys
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from tqdm import tqdm

from espnet2_ext.corpora.gettext_pairs import (
    DEFAULT_SOURCES,
    CatalogSource,
    Pair,
    load_pairs,
)
from espnet2_ext.corpora.tts import (
    HELDOUT_VOICES,
    TRAIN_VOICES,
    Voice,
    ensure_tools,
    synthesize,
    tool_versions,
    wav_duration,
)
from espnet2_ext.utils.atomic import write_text_atomic
from espnet2_ext.utils.deps import MissingDependencyError
from espnet2_ext.utils.log import setup_logging

logger = logging.getLogger(__name__)
log = logger.info

SPLITS: Tuple[str, ...] = ("train", "dev", "test")
#: Voices per split: dev and test share the held-out voices, never heard in training.
DEFAULT_VOICES: Dict[str, Tuple[Voice, ...]] = {
    "train": TRAIN_VOICES,
    "dev": HELDOUT_VOICES,
    "test": HELDOUT_VOICES,
}


class BuildArgsError(RuntimeError):
    """The output folder holds a build made with other arguments."""


@dataclass
class MiniSTConfig:
    """What the corpus content depends on (``nj`` and the cache folder do not count).

    With the five default catalogs and ``de fr es`` there are about 830 distinct English
    sentences: 100 dev + 100 test sentences spoken twice and the rest spoken three
    times give about 1,900 train / 200 dev / 200 test utterances (~2 h of speech).

    Attributes:
        tgt_langs: Target languages; a pair needs all of them.
        seed: Seed of the split, the voice choice and the speed/pitch draws.
        max_pairs: Use at most this many distinct sentence pairs (None: all).
        dev_sentences: Distinct English sentences in dev.
        test_sentences: Distinct English sentences in test.
        train_reps: Voices that speak each train sentence.
        eval_reps: Voices that speak each dev/test sentence.
        min_words: Fewest English words per sentence.
        max_words: Most English words per sentence.
        min_rate: Slowest speed factor drawn per utterance.
        max_rate: Fastest speed factor drawn per utterance.
        max_pitch_offset: espeak-ng pitch offset drawn per utterance in +-this.
    """

    tgt_langs: List[str] = field(default_factory=lambda: ["de", "fr", "es"])
    seed: int = 0
    max_pairs: Optional[int] = None
    dev_sentences: int = 100
    test_sentences: int = 100
    train_reps: int = 3
    eval_reps: int = 2
    min_words: int = 3
    max_words: int = 25
    min_rate: float = 0.9
    max_rate: float = 1.1
    max_pitch_offset: int = 5

    def to_dict(self) -> Dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping) -> "MiniSTConfig":
        return cls(**d)

    def validate(self) -> None:
        """Raises ValueError with the offending value."""
        if not self.tgt_langs or len(set(self.tgt_langs)) != len(self.tgt_langs):
            raise ValueError(
                f"tgt_langs must be distinct and non-empty: {self.tgt_langs}"
            )
        if "en" in self.tgt_langs:
            raise ValueError("'en' is the source language, not a target")
        if self.max_pairs is not None and self.max_pairs < 3:
            raise ValueError(f"max_pairs must be >= 3, got {self.max_pairs}")
        if min(self.dev_sentences, self.test_sentences) < 1:
            raise ValueError(
                f"dev/test need >= 1 sentence: {self.dev_sentences}, "
                f"{self.test_sentences}"
            )
        if min(self.train_reps, self.eval_reps) < 1:
            raise ValueError(f"reps must be >= 1: {self.train_reps}, {self.eval_reps}")
        if not 0 < self.min_rate <= self.max_rate:
            raise ValueError(
                f"need 0 < min_rate <= max_rate: {self.min_rate}, " f"{self.max_rate}"
            )


@dataclass(frozen=True)
class Utterance:
    """One planned recording: a sentence pair spoken by one voice."""

    utt: str
    split: str
    pair: Pair
    voice: Voice
    rate: float
    pitch_offset: int

    @property
    def spk(self) -> str:
        return self.voice.spk

    def wav_path(self, outdir: Path) -> Path:
        return Path(outdir) / "wav" / self.spk / f"{self.utt}.wav"


def pair_id(en: str) -> str:
    """Stable id of an English sentence: the first 10 hex digits of its SHA-1."""
    return hashlib.sha1(en.encode("utf-8")).hexdigest()[:10]


def split_pairs(
    pairs: Sequence[Pair],
    n_dev: int,
    n_test: int,
    seed: int,
    max_pairs: Optional[int] = None,
) -> Dict[str, List[Pair]]:
    """Splits pairs by English sentence into train/dev/test, deterministically.

    The pairs are sorted by English, shuffled with ``seed``, cut to ``max_pairs``; the
    first ``n_test`` go to test, the next ``n_dev`` to dev, the rest to train. So the
    test set does not change with ``max_pairs``.

    Args:
        pairs: Pairs with distinct English.
        n_dev: Dev sentences.
        n_test: Test sentences.
        seed: Shuffle seed.
        max_pairs: Use at most this many pairs (None: all).

    Returns:
        ``{"train", "dev", "test"} -> pairs`` sorted by :func:`pair_id`.

    Raises:
        ValueError: too few pairs to leave any for training.
    """
    ordered = sorted(pairs, key=lambda p: p.en)
    ids = [pair_id(p.en) for p in ordered]
    assert len(set(ids)) == len(ids), "duplicate English sentences (or id collision)"
    random.Random(seed).shuffle(ordered)
    if max_pairs is not None:
        ordered = ordered[:max_pairs]
    if len(ordered) <= n_dev + n_test:
        raise ValueError(
            f"only {len(ordered)} sentence pairs for {n_dev} dev + {n_test} test "
            "sentences and a non-empty train set; lower --dev_sentences/"
            "--test_sentences or raise --max_pairs"
        )
    out = {
        "test": ordered[:n_test],
        "dev": ordered[n_test : n_test + n_dev],
        "train": ordered[n_test + n_dev :],
    }
    return {k: sorted(v, key=lambda p: pair_id(p.en)) for k, v in out.items()}


def plan_utterances(
    splits: Mapping[str, Sequence[Pair]],
    config: MiniSTConfig,
    voices: Mapping[str, Sequence[Voice]] = DEFAULT_VOICES,
) -> List[Utterance]:
    """Chooses the voices, speed and pitch of every utterance, deterministically.

    Each sentence of a split is spoken by ``train_reps`` (train) or ``eval_reps``
    (dev/test) distinct voices of that split's pool.

    Returns:
        Utterances sorted by id (Kaldi ``LC_ALL=C`` order; ids are ASCII).
    """
    utts = []
    for split in SPLITS:
        pool = list(voices[split])
        reps = config.train_reps if split == "train" else config.eval_reps
        if reps > len(pool):
            raise ValueError(
                f"{split}: {reps} voices per sentence but {len(pool)} voices"
            )
        rng = random.Random(f"mini_st:{config.seed}:{split}")
        for pair in splits[split]:
            for voice in rng.sample(pool, reps):
                rate = round(rng.uniform(config.min_rate, config.max_rate), 2)
                pitch = rng.randint(-config.max_pitch_offset, config.max_pitch_offset)
                if voice.engine != "espeak-ng":
                    pitch = 0
                utt = f"{voice.spk}-{pair_id(pair.en)}"
                utts.append(Utterance(utt, split, pair, voice, rate, pitch))
    utts.sort(key=lambda u: u.utt.encode("utf-8"))
    ids = [u.utt for u in utts]
    assert len(set(ids)) == len(ids), "duplicate utterance ids"
    return utts


def _synth_job(job) -> Tuple[str, float]:
    utt, voice, text, path, rate, pitch_offset = job
    done = wav_duration(path)
    if done is not None:
        return utt, done
    try:
        return utt, synthesize(voice, text, path, rate, pitch_offset)
    except Exception as e:  # carry the utterance id across the process boundary
        raise RuntimeError(f"synthesis of {utt} ({path}) failed: {e}") from e


def synthesize_all(
    utts: Sequence[Utterance], outdir: Path, nj: int = 2
) -> Dict[str, float]:
    """Synthesises every utterance whose wav is not already complete.

    Args:
        utts: Planned utterances.
        outdir: Corpus folder (wavs go under ``wav/<spk>/``).
        nj: Worker processes.

    Returns:
        Utterance id -> duration in seconds.
    """
    outdir = Path(outdir)
    for stale in (outdir / "wav").glob("*/.*.tmp"):
        stale.unlink()  # left by an interrupted run
    jobs = [
        (u.utt, u.voice, u.pair.en, str(u.wav_path(outdir)), u.rate, u.pitch_offset)
        for u in utts
    ]
    existing = sum(1 for j in jobs if os.path.exists(j[3]))
    if existing:
        log(f"resuming: {existing} of {len(jobs)} wavs exist (checked before re-use)")
    durations: Dict[str, float] = {}
    bar = tqdm(total=len(jobs), desc="synthesis", unit="utt", mininterval=1.0)
    if nj <= 1:
        for job in jobs:
            utt, dur = _synth_job(job)
            durations[utt] = dur
            bar.update()
    else:
        # multiprocessing.Pool: on an interrupt its __exit__ terminates the workers
        # (a ProcessPoolExecutor would wait for them when only the parent got SIGINT)
        with multiprocessing.Pool(nj) as pool:
            for utt, dur in pool.imap_unordered(_synth_job, jobs, chunksize=8):
                durations[utt] = dur
                bar.update()
    bar.close()
    assert len(durations) == len(jobs), (len(durations), len(jobs))
    return durations


def write_split(
    outdir: Path, split: str, utts: Sequence[Utterance], langs: Sequence[str]
) -> None:
    """Writes ``wav.scp``, ``text.en``, ``text.<lang>``, ``utt2spk``, ``spk2utt``."""
    d = Path(outdir) / split
    utts = sorted(utts, key=lambda u: u.utt.encode("utf-8"))
    files = {
        "wav.scp": [f"{u.utt} {u.wav_path(outdir).resolve()}" for u in utts],
        "text.en": [f"{u.utt} {u.pair.en}" for u in utts],
        "utt2spk": [f"{u.utt} {u.spk}" for u in utts],
    }
    for lang in langs:
        files[f"text.{lang}"] = [f"{u.utt} {u.pair.tgt[lang]}" for u in utts]
    spk2utt = defaultdict(list)
    for u in utts:
        spk2utt[u.spk].append(u.utt)
    files["spk2utt"] = [
        " ".join([spk] + spk2utt[spk]) for spk in sorted(spk2utt, key=str.encode)
    ]
    for name, lines in files.items():
        assert all("\n" not in line for line in lines), name
        write_text_atomic(d / name, "".join(line + "\n" for line in lines))


def _source_rows(
    pairs_used: Sequence[Pair], utts: Sequence[Utterance], stats: Sequence[Dict]
) -> List[Dict]:
    used = Counter(p.package for p in pairs_used)
    spoken = Counter(u.pair.package for u in utts)
    rows = []
    for s in stats:
        rows.append(dict(s, used=used[s["package"]], utterances=spoken[s["package"]]))
    return rows


def write_readme(
    outdir: Path,
    config: MiniSTConfig,
    utts: Sequence[Utterance],
    durations: Mapping[str, float],
    source_rows: Sequence[Dict],
    voices: Mapping[str, Sequence[Voice]],
    tools: Mapping[str, str],
) -> None:
    """Writes ``README.md``: sources, licences, voices, counts (no timestamps)."""
    langs = config.tgt_langs
    lines = [
        "# mini_st: synthetic English speech -> " + "/".join(langs) + " text",
        "",
        "Built by `python -m espnet2_ext.corpora.mini_st` (arguments in "
        "`build_args.json`, seed " + str(config.seed) + "). Deterministic given "
        "the arguments: a rebuild gives the same files.",
        "",
        "English source sentences and their **human** translations come from the "
        "gettext catalogs shipped in the PyPI wheels below. The translations remain "
        "the work of those projects' translators, under each project's licence; "
        "keep this table with any copy of the corpus. The English is synthetic "
        "speech (flite and espeak-ng); `text.en` is exactly the text that was spoken.",
        "",
        "## Sources",
        "",
        "| package | version | licence | cleaned pairs per language ("
        + ", ".join(langs)
        + ") | with all languages | after dedup | sentences used | utterances |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in source_rows:
        per = ", ".join(str(r["per_lang"].get(lang, "-")) for lang in langs)
        url = f"https://pypi.org/project/{r['package']}/{r['version']}/"
        lines.append(
            f"| [{r['package']}]({url}) | {r['version']} | {r['licence']} | {per} | "
            f"{r['all_langs']} | {r['kept']} | {r['used']} | {r['utterances']} |"
        )
    lines += [
        "",
        "Cleaning (see `espnet2_ext/corpora/gettext_pairs.py`): fuzzy, obsolete, "
        "empty and plural entries dropped; entries with placeholders (`%(x)s`, `%s`, "
        "`{0}`), URLs, e-mail addresses or code/markup characters dropped; HTML tags "
        "stripped and entities unescaped; whitespace normalised; English punctuation "
        f"mapped to ASCII; {config.min_words}-{config.max_words} English words; "
        "deduplicated by English (first source in the table wins).",
        "",
        "## Splits",
        "",
        "| split | sentences | utterances | speakers | hours |",
        "|---|---|---|---|---|",
    ]
    for split in SPLITS:
        su = [u for u in utts if u.split == split]
        hours = sum(durations[u.utt] for u in su) / 3600
        lines.append(
            f"| {split} | {len({u.pair.en for u in su})} | {len(su)} | "
            f"{len({u.spk for u in su})} | {hours:.3f} |"
        )
    lines += [
        "",
        "No English sentence occurs in two splits. Dev and test are spoken only by "
        "voices that never occur in train.",
        "",
        "## Voices",
        "",
        f"Speed drawn per utterance in [{config.min_rate}, {config.max_rate}] "
        "x normal; "
        f"espeak-ng pitch offset in +-{config.max_pitch_offset}. "
        + "; ".join(f"{k}: {v}" for k, v in sorted(tools.items())),
        "",
        "| speaker | engine | voice | pitch | " + " | ".join(SPLITS) + " |",
        "|---|---|---|---|" + "---|" * len(SPLITS),
    ]
    counts = Counter((u.spk, u.split) for u in utts)
    seen = {}
    for split in SPLITS:
        for v in voices[split]:
            seen.setdefault(v.spk, v)
    for spk, v in seen.items():
        pitch = "default" if v.pitch is None else str(v.pitch)
        per = " | ".join(str(counts[(spk, s)]) for s in SPLITS)
        lines.append(f"| {spk} | {v.engine} | {v.name} | {pitch} | {per} |")
    lines.append("")
    write_text_atomic(Path(outdir) / "README.md", "\n".join(lines))


def _check_previous(outdir: Path, record: Dict, overwrite: bool) -> str:
    """``"done"`` (same args, finished), ``"resume"`` or ``"new"``; raises if the
    folder holds a build made with other arguments."""
    args_path = outdir / "build_args.json"
    if overwrite:
        for name in (*SPLITS, "wav"):
            if (outdir / name).exists():
                shutil.rmtree(outdir / name)
        for name in (".done", "README.md", "build_args.json"):
            if (outdir / name).exists():
                (outdir / name).unlink()
        return "new"
    if not args_path.exists():
        if (outdir / ".done").exists() or (outdir / "wav").exists():
            raise BuildArgsError(
                f"{outdir} holds corpus files but no build_args.json; use a new "
                "--outdir or --overwrite"
            )
        return "new"
    old = json.loads(args_path.read_text(encoding="utf-8"))
    if old != record:
        diff = sorted(k for k in set(old) | set(record) if old.get(k) != record.get(k))
        details = [
            f"{k}: {old.get(k)!r} -> {record.get(k)!r}" for k in diff if k != "config"
        ]
        oc, nc = old.get("config", {}), record.get("config", {})
        details += [
            f"{k}: {oc.get(k)!r} -> {nc.get(k)!r}"
            for k in sorted(set(oc) | set(nc))
            if oc.get(k) != nc.get(k)
        ]
        raise BuildArgsError(
            f"{outdir} was built with other arguments ({'; '.join(details)[:1000]}); "
            "use a new --outdir, or --overwrite to rebuild it"
        )
    return "done" if (outdir / ".done").exists() else "resume"


def build_mini_st(
    outdir,
    config: Optional[MiniSTConfig] = None,
    nj: int = 2,
    download_dir="downloads",
    overwrite: bool = False,
    pairs: Optional[Sequence[Pair]] = None,
    sources: Sequence[CatalogSource] = DEFAULT_SOURCES,
    voices: Mapping[str, Sequence[Voice]] = DEFAULT_VOICES,
) -> Dict:
    """Builds (or resumes, or skips) the corpus in ``outdir``.

    Args:
        outdir: Output folder.
        config: Corpus settings (default :class:`MiniSTConfig`).
        nj: Synthesis worker processes.
        download_dir: Wheel cache folder.
        overwrite: Delete a previous build in ``outdir`` first.
        pairs: Sentence pairs to use instead of the gettext catalogs (tests, other
            text sources); they need every ``config.tgt_langs`` translation.
        sources: Catalogs to read when ``pairs`` is None.
        voices: Voice pool per split; train must not share a speaker with dev/test.

    Returns:
        Summary: ``skipped``, ``splits`` (sentences, utterances, speakers, hours per
        split), ``sources`` (per-source counts), ``seconds`` (wall time).
    """
    start = time.time()
    config = config or MiniSTConfig()
    config.validate()
    outdir = Path(outdir).absolute()
    train_spk = {v.spk for v in voices["train"]}
    shared = train_spk & {v.spk for s in SPLITS[1:] for v in voices[s]}
    if shared:
        raise ValueError(f"voices in train and in dev/test: {sorted(shared)}")
    if pairs is None:
        pair_source = [asdict(s) for s in sources]
    else:
        digest = hashlib.sha1(
            json.dumps(
                [[p.en, p.tgt, p.package, p.version, p.licence] for p in pairs],
                sort_keys=True,
            ).encode()
        ).hexdigest()
        pair_source = f"injected:{len(pairs)}:{digest}"
    record = {
        "config": config.to_dict(),
        "pairs": pair_source,
        "voices": {s: [v.to_dict() for v in voices[s]] for s in SPLITS},
    }
    state = _check_previous(outdir, record, overwrite)
    if state == "done":
        log(f"{outdir} is already built with these arguments (.done exists) - skipping")
        return {"skipped": True, "outdir": str(outdir), "seconds": time.time() - start}
    log(f"{'resuming' if state == 'resume' else 'building'} {outdir}")

    engines = sorted({v.engine for s in SPLITS for v in voices[s]})
    ensure_tools(engines)

    langs = list(config.tgt_langs)
    if pairs is None:
        log(f"reading catalogs of {len(sources)} packages (cache: {download_dir})")
        pairs, stats = load_pairs(
            sources, langs, download_dir, config.min_words, config.max_words
        )
    else:
        missing = [p.en for p in pairs if any(lang not in p.tgt for lang in langs)]
        if missing:
            raise ValueError(
                f"{len(missing)} pairs lack a target language: {missing[:3]}"
            )
        by_pkg = Counter((p.package, p.version, p.licence) for p in pairs)
        stats = [
            dict(
                package=k[0],
                version=k[1],
                licence=k[2],
                per_lang={},
                all_langs=n,
                kept=n,
            )
            for k, n in sorted(by_pkg.items())
        ]
    log(f"{len(pairs)} distinct English sentences with {'+'.join(langs)}")

    splits = split_pairs(
        pairs,
        config.dev_sentences,
        config.test_sentences,
        config.seed,
        config.max_pairs,
    )
    sets = {s: {p.en for p in splits[s]} for s in SPLITS}
    assert not (sets["train"] & sets["dev"]) and not (sets["train"] & sets["test"])
    assert not (sets["dev"] & sets["test"])
    utts = plan_utterances(splits, config, voices)
    log(
        "plan: "
        + ", ".join(
            f"{s} {len(splits[s])} sentences / "
            f"{sum(u.split == s for u in utts)} utterances"
            for s in SPLITS
        )
    )
    outdir.mkdir(parents=True, exist_ok=True)
    if state == "new":
        write_text_atomic(
            outdir / "build_args.json", json.dumps(record, indent=2, sort_keys=True)
        )

    durations = synthesize_all(utts, outdir, nj)

    for split in SPLITS:
        write_split(outdir, split, [u for u in utts if u.split == split], langs)
    used = [p for s in SPLITS for p in splits[s]]
    rows = _source_rows(used, utts, stats)
    write_readme(outdir, config, utts, durations, rows, voices, tool_versions(engines))
    write_text_atomic(outdir / ".done", "")

    summary_splits = {}
    for split in SPLITS:
        su = [u for u in utts if u.split == split]
        summary_splits[split] = dict(
            sentences=len(splits[split]),
            utterances=len(su),
            speakers=len({u.spk for u in su}),
            hours=sum(durations[u.utt] for u in su) / 3600,
        )
    seconds = time.time() - start
    total_h = sum(v["hours"] for v in summary_splits.values())
    log(
        f"done in {seconds:.1f} s: "
        + ", ".join(
            f"{s} {v['utterances']} utts / {v['hours']:.2f} h"
            for s, v in summary_splits.items()
        )
        + f"; total {total_h:.2f} h -> {outdir}"
    )
    return {
        "skipped": False,
        "outdir": str(outdir),
        "splits": summary_splits,
        "sources": rows,
        "seconds": seconds,
    }


def get_args(argv=None) -> argparse.Namespace:
    d = MiniSTConfig()
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--outdir", required=True, help="output folder")
    parser.add_argument("--tgt_langs", nargs="+", default=d.tgt_langs)
    parser.add_argument("--seed", type=int, default=d.seed)
    parser.add_argument("--nj", type=int, default=2, help="synthesis processes")
    parser.add_argument(
        "--max_pairs", type=int, default=None, help="cap on distinct sentence pairs"
    )
    parser.add_argument("--dev_sentences", type=int, default=d.dev_sentences)
    parser.add_argument("--test_sentences", type=int, default=d.test_sentences)
    parser.add_argument(
        "--train_reps", type=int, default=d.train_reps, help="voices per train sentence"
    )
    parser.add_argument(
        "--eval_reps",
        type=int,
        default=d.eval_reps,
        help="voices per dev/test sentence",
    )
    parser.add_argument("--min_words", type=int, default=d.min_words)
    parser.add_argument("--max_words", type=int, default=d.max_words)
    parser.add_argument(
        "--download_dir", default="downloads", help="wheel cache (re-used)"
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="delete a previous build first"
    )
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = get_args(argv)
    setup_logging()
    config = MiniSTConfig(
        tgt_langs=list(args.tgt_langs),
        seed=args.seed,
        max_pairs=args.max_pairs,
        dev_sentences=args.dev_sentences,
        test_sentences=args.test_sentences,
        train_reps=args.train_reps,
        eval_reps=args.eval_reps,
        min_words=args.min_words,
        max_words=args.max_words,
    )
    try:
        build_mini_st(
            args.outdir,
            config,
            nj=args.nj,
            download_dir=args.download_dir,
            overwrite=args.overwrite,
        )
    except (BuildArgsError, MissingDependencyError, ValueError) as e:
        sys.exit(f"mini_st: error: {e}")


if __name__ == "__main__":
    main()
