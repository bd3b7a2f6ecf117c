"""Builds ``ssl_speech``: synthetic English speech for training an SSL upstream.

Usage::

    python -m espnet2_ext.recipes.mini_st.ssl_speech --outdir data/ssl_speech \\
        [--max_sentences N] [--heldout_sentences 80] [--seed 0] [--nj 2] \\
        [--exclude_text data/corpus/train/text.en ...] [--download_dir downloads]

The text is every English sentence of the gettext catalogs of
:data:`~espnet2_ext.synth.gettext_pairs.DEFAULT_SOURCES`, translated or not
(:func:`~espnet2_ext.synth.gettext_pairs.load_english`), minus any sentence of the
``--exclude_text`` files (Kaldi ``text``, read by
:func:`~espnet2_ext.fileio.kaldi_io.read_kaldi_map`: the ST corpus, so that the SSL
speech never says an ST sentence). ``train`` is spoken by
:data:`~espnet2_ext.synth.tts.TRAIN_VOICES` only; ``test`` (other sentences) only by
:data:`~espnet2_ext.synth.tts.HELDOUT_VOICES`, for probing. Planning, synthesis
(resumable, atomic wav writes), the Kaldi files and the stamp of the arguments
(:mod:`espnet2_ext.fileio.build_stamp`) are those of
:mod:`espnet2_ext.recipes.mini_st.corpus`.

Writes (under ``--outdir``)::

    .done.running                   what the build depends on (written first)
    wav/<spk>/<spk>-<sentid>.wav    16 kHz mono PCM16
    {train,test}/wav.scp            <utt> <absolute wav path>
    {train,test}/text               <utt> <English, as spoken> (also as text.en)
    {train,test}/utt2spk, spk2utt
    .done                           .done.running renamed, last
"""

import argparse
import hashlib
import logging
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Set

from espnet2_ext.fileio.build_stamp import OtherBuildError, check_build
from espnet2_ext.fileio.kaldi_io import read_kaldi_map
from espnet2_ext.fileio.stamp import finish_stamp, start_stamp
from espnet2_ext.recipes.mini_st.corpus import (
    DEFAULT_VOICES,
    MiniSTConfig,
    arguments_stamp,
    plan_utterances,
    split_pairs,
    write_split,
)
from espnet2_ext.synth.gettext_pairs import (
    DEFAULT_SOURCES,
    CatalogSource,
    Pair,
    load_english,
)
from espnet2_ext.synth.speak import speak_all
from espnet2_ext.synth.tts import ensure_tools
from espnet2_ext.utils.atomic import write_text_atomic
from espnet2_ext.utils.deps import MissingDependencyError
from espnet2_ext.utils.log import setup_logging

logger = logging.getLogger(__name__)

#: Folders written: SSL training speech and the held-out-voice probe set.
OUT_SPLITS = ("train", "test")
#: What a build writes in ``--outdir`` besides its stamp (``--overwrite`` removes it).
OUTPUTS = (*OUT_SPLITS, "wav")


def read_text_sentences(paths: Sequence[Path]) -> Set[str]:
    """The sentences of Kaldi ``text`` files, whitespace collapsed, empty ones left out.

    Args:
        paths: Kaldi ``text`` files (``<utt> <sentence>`` per line).

    Returns:
        The distinct sentences of all of them.

    Raises:
        ValueError: a malformed line (no id, a repeated id), naming ``path:line``.
    """
    out = set()
    for path in paths:
        for text in read_kaldi_map(path).values():
            if text:
                out.add(" ".join(text.split()))
    return out


def build_ssl_speech(
    outdir,
    max_sentences: Optional[int] = None,
    heldout_sentences: int = 80,
    train_reps: int = 1,
    heldout_reps: int = 2,
    seed: int = 0,
    nj: int = 2,
    exclude_text: Sequence[Path] = (),
    download_dir="downloads",
    overwrite: bool = False,
    sentences: Optional[Sequence[str]] = None,
    sources: Sequence[CatalogSource] = DEFAULT_SOURCES,
) -> Dict:
    """Builds (or resumes, or skips) the SSL speech in ``outdir``.

    Args:
        outdir: Output folder.
        max_sentences: Distinct sentences used, held-out ones included (None: all).
        heldout_sentences: Sentences of ``test`` (held-out voices).
        train_reps: Train voices per train sentence.
        heldout_reps: Held-out voices per test sentence.
        seed: Seed of the split and of the voice/speed/pitch draws.
        nj: Synthesis processes.
        exclude_text: Kaldi ``text`` files whose sentences must not be spoken.
        download_dir: Wheel cache folder.
        overwrite: Delete a previous build first.
        sentences: English to use instead of the catalogs (tests).
        sources: Catalogs read when ``sentences`` is None.

    Returns:
        ``skipped``, ``outdir``, per split ``utterances`` and ``hours``, ``seconds``.
    """
    start = time.time()
    outdir = Path(outdir).absolute()
    excluded = read_text_sentences(exclude_text)
    config = MiniSTConfig(
        seed=seed,
        max_pairs=max_sentences,
        dev_sentences=0,
        test_sentences=heldout_sentences,
        train_reps=train_reps,
        eval_reps=heldout_reps,
    )
    if sentences is None:
        text_source = [s.spec for s in sources]
    else:
        digest = hashlib.sha1("\n".join(sentences).encode()).hexdigest()
        text_source = f"injected:{len(sentences)}:{digest}"
    marker = outdir / ".done"
    stamp = arguments_stamp(
        config,
        DEFAULT_VOICES,
        OUT_SPLITS,
        text=text_source,
        excluded=hashlib.sha1("\n".join(sorted(excluded)).encode()).hexdigest(),
    )
    if check_build(marker, stamp, OUTPUTS, "--outdir", overwrite) == "done":
        return {"skipped": True, "outdir": str(outdir), "seconds": time.time() - start}
    ensure_tools(sorted({v.engine for s in OUT_SPLITS for v in DEFAULT_VOICES[s]}))
    if sentences is None:
        pairs, _ = load_english(sources, download_dir)
    else:
        pairs = [Pair(en, {}) for en in sorted(set(sentences))]
    kept = [p for p in pairs if p.en not in excluded]
    logger.info(
        f"{len(pairs)} English sentences, {len(pairs) - len(kept)} excluded "
        f"(in {len(exclude_text)} --exclude_text files)"
    )
    splits = split_pairs(kept, 0, heldout_sentences, seed, max_sentences)
    utts = plan_utterances(splits, config, DEFAULT_VOICES)
    start_stamp(marker, stamp)
    durations = speak_all([u.speech_job(outdir) for u in utts], nj)
    summary = {}
    for split in OUT_SPLITS:
        su = [u for u in utts if u.split == split]
        write_split(outdir, split, su, [])
        text = (outdir / split / "text.en").read_text(encoding="utf-8")
        write_text_atomic(outdir / split / "text", text)
        summary[split] = dict(
            utterances=len(su), hours=sum(durations[u.utt] for u in su) / 3600
        )
    finish_stamp(marker)
    seconds = time.time() - start
    logger.info(
        f"done in {seconds:.1f} s: "
        + ", ".join(
            f"{s} {v['utterances']} utts / {v['hours']:.2f} h"
            for s, v in summary.items()
        )
    )
    return {
        "skipped": False,
        "outdir": str(outdir),
        "splits": summary,
        "seconds": seconds,
    }


def get_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--outdir", required=True)
    parser.add_argument("--max_sentences", type=int, default=None)
    parser.add_argument("--heldout_sentences", type=int, default=80)
    parser.add_argument("--train_reps", type=int, default=1)
    parser.add_argument("--heldout_reps", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--nj", type=int, default=2)
    parser.add_argument("--exclude_text", type=Path, nargs="*", default=[])
    parser.add_argument("--download_dir", default="downloads")
    parser.add_argument("--overwrite", action="store_true")
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> None:
    args = get_args(argv)
    setup_logging()
    try:
        build_ssl_speech(
            args.outdir,
            max_sentences=args.max_sentences,
            heldout_sentences=args.heldout_sentences,
            train_reps=args.train_reps,
            heldout_reps=args.heldout_reps,
            seed=args.seed,
            nj=args.nj,
            exclude_text=args.exclude_text,
            download_dir=args.download_dir,
            overwrite=args.overwrite,
        )
    except (OtherBuildError, MissingDependencyError, ValueError) as e:
        sys.exit(f"ssl_speech: error: {e}")


if __name__ == "__main__":
    main()
