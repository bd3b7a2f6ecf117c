"""ML-SUPERB scoring: CER per language, their mean, LID accuracy and SUPERB_s.

Reads two Kaldi-style files ``<utt> <text>``: the hypotheses (ESPnet's decoded
``text``; a line may be ``<utt>`` alone, an empty hypothesis) and the references (the
data dir's ``text``, normalised by data prep,
:mod:`espnet2_ext.scoring.ml_superb_text`); their ids must be the same sets. The
language of an utterance comes from the data dir's ``utt2lang`` or, without one, from
its id ``<dataset>_<iso>_<number>`` (the second-to-last ``_`` field, as ESPnet's
``split_results.py`` reads it).

Both sides are put in their scoring form (:func:`scoring_form`): LID tags removed,
then ML-SUPERB's :func:`~espnet2_ext.scoring.ml_superb_text.normalize_transcript`, then
:func:`~espnet2_ext.scoring.ml_superb_text.scoring_text` (no spaces at all for the
languages written without them). The tags go first because ML-SUPERB's bracket
pattern is greedy: ``[fra] A [deu]`` would lose everything between the two tags.
Characters are the tokens, the single space between two words included (as ESPnet
scores ``char`` tokens with ``<space>``); distances come from ``editdistance``.

Per language l, with E_l the summed edit distance and N_l the reference characters:

- ``CER_l = 100 * E_l / N_l``;
- macro CER (ML-SUPERB's CER, the mean over languages): ``1/L sum_l CER_l``;
- micro CER: ``100 * sum_l E_l / sum_l N_l`` (for comparison);
- worst-k CER (ML-SUPERB 2.0, k = 15): the mean of the k highest ``CER_l``; with
  fewer than k languages, the mean of all of them (then equal to the macro CER);
- CER standard deviation (ML-SUPERB 2.0): the population standard deviation
  (ddof = 0) of the ``CER_l``: the languages scored are the whole population, not
  a sample of one;
- LID accuracy (``--lid``): ``100 * correct / utterances``, where an utterance is
  correct when the first tag of its hypothesis is its reference's only tag; a
  hypothesis without a tag is wrong (counted as :data:`NO_TAG` in the confusions).

SUPERB_s (ML-SUPERB, Shi et al., Interspeech 2023, arXiv:2305.10615, following
SUPERB-SG, Tsai et al., ACL 2022)::

    SUPERB_s(u) = 1000/T sum_t 1/|I_t| sum_i
                  (s_ti(u) - s_ti(FBANK)) / (s_ti(SOTA) - s_ti(FBANK))

over the T tracks (tasks) t and their metrics I_t, where FBANK is the FBank baseline
cell and SOTA the best cell of the same job: 0 is the baseline, 1000 the best.
Lower-is-better metrics such as CER need no sign change (numerator and denominator
change sign together). :func:`normalized_score` is one term, :func:`superb_score`
one track, :func:`superb_score_by_track` the whole sum.

Writes ``OUTDIR/result.txt`` (its first line ``CER = x.x``, the macro CER; then the
other aggregates and one line per language) and ``OUTDIR/result.json``
(:meth:`SuperbScores.to_dict`).

Usage::

    python -m espnet2_ext.scoring.ml_superb --hyp exp/asr/decode_test/text \\
        --ref dump/raw/test_10min/text --utt2lang dump/raw/test_10min/utt2lang \\
        --lid --outdir exp/asr/decode_test/score_superb
"""

import argparse
import logging
import statistics
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Tuple

import editdistance

from espnet2_ext.fileio.kaldi_io import KaldiEntry, read_kaldi_entries
from espnet2_ext.scoring.asr import chars
from espnet2_ext.scoring.ml_superb_text import (
    LID_TAG,
    UTT_ID,
    lid_tags,
    normalize_transcript,
    scoring_text,
)
from espnet2_ext.scoring.result_io import DECIMALS, write_result
from espnet2_ext.utils.log import setup_logging

logger = logging.getLogger(__name__)

#: Worst languages averaged by :meth:`SuperbScores.worst_cer` (ML-SUPERB 2.0).
WORST_K = 15
#: The hypothesis language of the LID confusions when the hypothesis has no tag.
NO_TAG = "UNK"


class _UtteranceError(ValueError):
    """A problem with one utterance; ``side`` is where its id is (``ref``/``hyp``),
    so :func:`score_files` can name that file's line."""

    def __init__(self, utt: str, side: str, message: str):
        super().__init__(message)
        self.utt, self.side = utt, side


def scoring_form(text: str, lang: str) -> str:
    """The text a transcript is scored on (references and hypotheses alike).

    1. LID tags (:data:`~espnet2_ext.scoring.ml_superb_text.LID_TAG`) replaced by a
       space: first, since the greedy bracket pattern of step 2 would remove what
       lies between two tags;
    2. :func:`~espnet2_ext.scoring.ml_superb_text.normalize_transcript` (no ``[...]``
       spans, no ASCII punctuation, upper case, whitespace collapsed);
    3. :func:`~espnet2_ext.scoring.ml_superb_text.scoring_text` for ``lang`` (no spaces
       for a language written without them).

    Args:
        text: A raw reference or hypothesis.
        lang: Its ISO 639-3 language.

    Returns:
        The scoring text ('' when nothing is left).
    """
    return scoring_text(normalize_transcript(LID_TAG.sub(" ", text)), lang)


def char_errors(ref: str, hyp: str) -> Tuple[int, int]:
    """``(edit distance, reference length)`` in characters of two scoring texts.

    The space between two words is a character (ESPnet's ``<space>`` token).
    """
    ref_chars = chars(ref)
    return editdistance.eval(ref_chars, chars(hyp)), len(ref_chars)


@dataclass(frozen=True)
class LanguageScore:
    """The character errors of one language.

    Attributes:
        lang: The ISO 639-3 code.
        utterances: Utterances scored.
        errors: Summed edit distances (characters).
        ref_chars: Reference characters.
    """

    lang: str
    utterances: int
    errors: int
    ref_chars: int

    @property
    def cer(self) -> float:
        """``100 * errors / ref_chars``.

        Raises:
            ValueError: when the language has no reference character.
        """
        if self.ref_chars == 0:
            raise ValueError(
                f"language '{self.lang}': its references have no character after"
                " normalisation, so its CER is undefined"
            )
        return 100.0 * self.errors / self.ref_chars


def _rounded(value: Optional[float]) -> Optional[float]:
    return None if value is None else round(value, DECIMALS)


@dataclass(frozen=True)
class SuperbScores:
    """ML-SUPERB's scores of one decoded set (formulas in the module docstring).

    Attributes:
        languages: The per-language counts, sorted by language.
        lid_correct: Utterances whose LID is right (None: LID not scored).
        lid_total: Utterances whose LID was scored (None: not scored).
        lid_confusions: ``{(reference lang, hypothesis lang): utterances}``, the
            hypothesis lang :data:`NO_TAG` for a hypothesis without a tag (None:
            LID not scored).
    """

    languages: Dict[str, LanguageScore]
    lid_correct: Optional[int] = None
    lid_total: Optional[int] = None
    lid_confusions: Optional[Dict[Tuple[str, str], int]] = None

    @property
    def cer_per_language(self) -> Dict[str, float]:
        """``{lang: CER_l}``, sorted by language."""
        return {lang: s.cer for lang, s in sorted(self.languages.items())}

    def _cers(self) -> List[float]:
        if not self.languages:
            raise ValueError("no language scored: the CER is undefined")
        return list(self.cer_per_language.values())

    @property
    def macro_cer(self) -> float:
        """The mean of the per-language CERs (ML-SUPERB's CER)."""
        return statistics.fmean(self._cers())

    @property
    def micro_cer(self) -> float:
        """``100 * all errors / all reference characters``."""
        errors = sum(s.errors for s in self.languages.values())
        ref = sum(s.ref_chars for s in self.languages.values())
        if ref == 0:
            raise ValueError("the references have no character: the CER is undefined")
        return 100.0 * errors / ref

    def worst_cer(self, k: int = WORST_K) -> float:
        """The mean CER of the ``k`` languages with the highest CER; of all the
        languages when there are fewer than ``k`` (then the macro CER)."""
        if k < 1:
            raise ValueError(f"worst_cer needs k >= 1, got {k}")
        return statistics.fmean(sorted(self._cers(), reverse=True)[:k])

    @property
    def cer_std(self) -> float:
        """The population standard deviation (ddof = 0) of the per-language CERs."""
        return statistics.pstdev(self._cers())

    @property
    def lid_accuracy(self) -> Optional[float]:
        """``100 * lid_correct / lid_total``, or None when LID was not scored."""
        if self.lid_correct is None or not self.lid_total:
            return None
        return 100.0 * self.lid_correct / self.lid_total

    def _confusions_dict(self) -> Optional[Dict[str, Dict[str, int]]]:
        if self.lid_confusions is None:
            return None
        out: Dict[str, Dict[str, int]] = {}
        for (ref, hyp), n in sorted(self.lid_confusions.items()):
            out.setdefault(ref, {})[hyp] = n
        return out

    def to_dict(self, k: int = WORST_K) -> Dict:
        """The scores as a JSON-ready dict, rates rounded to ``DECIMALS`` decimals.

        Keys: ``macro_cer``, ``micro_cer``, ``worst_cer`` (of ``worst_k``
        languages), ``cer_std``, ``lid_accuracy``, ``lid_correct``, ``lid_total``,
        ``num_languages``, ``utterances``, ``errors``, ``ref_chars``,
        ``cer_per_language``, ``languages`` (each one's counts and ``cer``) and
        ``lid_confusions`` (``{ref: {hyp: utterances}}`` or None).
        """
        langs = sorted(self.languages.values(), key=lambda s: s.lang)
        return {
            "macro_cer": _rounded(self.macro_cer),
            "micro_cer": _rounded(self.micro_cer),
            "worst_cer": _rounded(self.worst_cer(k)),
            "worst_k": k,
            "cer_std": _rounded(self.cer_std),
            "lid_accuracy": _rounded(self.lid_accuracy),
            "lid_correct": self.lid_correct,
            "lid_total": self.lid_total,
            "num_languages": len(langs),
            "utterances": sum(s.utterances for s in langs),
            "errors": sum(s.errors for s in langs),
            "ref_chars": sum(s.ref_chars for s in langs),
            "cer_per_language": {s.lang: _rounded(s.cer) for s in langs},
            "languages": {
                s.lang: {
                    "utterances": s.utterances,
                    "errors": s.errors,
                    "ref_chars": s.ref_chars,
                    "cer": _rounded(s.cer),
                }
                for s in langs
            },
            "lid_confusions": self._confusions_dict(),
        }

    def to_text(self, k: int = WORST_K) -> str:
        """The human-readable block of ``result.txt`` (first line ``CER = x.x``)."""
        n = len(self.languages)
        lines = [
            f"CER = {self.macro_cer:.1f} (mean of the CERs of {n} languages)",
            f"micro CER = {self.micro_cer:.1f} (all errors / all reference characters)",
            f"worst-{k} CER = {self.worst_cer(k):.1f}"
            f" (mean of the {min(k, n)} highest language CERs)",
            f"CER std = {self.cer_std:.1f} (population, ddof=0, over {n} languages)",
        ]
        if self.lid_accuracy is not None:
            lines.append(
                f"LID accuracy = {self.lid_accuracy:.1f}"
                f" ({self.lid_correct} / {self.lid_total} utterances)"
            )
        lines.append("")
        for lang, s in sorted(self.languages.items()):
            lines.append(
                f"{lang}: CER = {s.cer:.1f} ({s.errors} errors / {s.ref_chars}"
                f" reference characters, {s.utterances} utterances)"
            )
        return "\n".join(lines) + "\n"

    def summary(self) -> str:
        """One line: the macro CER, its companions and the LID accuracy if scored."""
        line = (
            f"CER {self.macro_cer:.1f} over {len(self.languages)} languages (micro"
            f" {self.micro_cer:.1f}, worst-{WORST_K} {self.worst_cer():.1f},"
            f" std {self.cer_std:.1f})"
        )
        if self.lid_accuracy is not None:
            line += f", LID accuracy {self.lid_accuracy:.1f}"
        return line


def _check_ids(refs: Mapping[str, str], hyps: Mapping[str, str]) -> None:
    """Raises :class:`_UtteranceError` on the first id in only one of the two."""
    if not refs:
        raise ValueError("no reference: nothing to score")
    missing = [u for u in refs if u not in hyps]
    if missing:
        raise _UtteranceError(
            missing[0],
            "ref",
            f"no hypothesis for '{missing[0]}' ({len(missing)} of {len(refs)}"
            " reference ids without one) - was decoding interrupted? Rerun it",
        )
    extra = [u for u in hyps if u not in refs]
    if extra:
        raise _UtteranceError(
            extra[0],
            "hyp",
            f"no reference for hypothesis '{extra[0]}' ({len(extra)} hypothesis ids"
            " not in the references) - hypotheses and references come from"
            " different sets",
        )


def _reference_tag(utt: str, ref: str) -> str:
    """The one LID tag of a reference (LID mode)."""
    tags = lid_tags(ref)
    if len(tags) != 1:
        raise _UtteranceError(
            utt,
            "ref",
            f"reference of '{utt}' has {len(tags)} language tags ({tags}), expected"
            " exactly one - is this the text of a LID track?",
        )
    return tags[0]


def _hypothesis_tag(hyp: str) -> str:
    """The first LID tag of a hypothesis, :data:`NO_TAG` when it has none."""
    tags = lid_tags(hyp)
    return tags[0] if tags else NO_TAG


def score_utterances(
    refs: Mapping[str, str],
    hyps: Mapping[str, str],
    utt2lang: Mapping[str, str],
    lid: bool = False,
) -> SuperbScores:
    """Scores raw transcripts (each put through :func:`scoring_form`).

    Args:
        refs: ``{utt: reference}``, as written by data prep.
        hyps: ``{utt: hypothesis}``, as decoded by ESPnet; the same ids.
        utt2lang: ``{utt: ISO 639-3 code}`` of every reference id (more are fine).
        lid: Also score the LID of each utterance: right when the hypothesis's first
            tag is the reference's only tag.

    Returns:
        The per-language counts and, with ``lid``, the LID counts.

    Raises:
        ValueError: naming the id of a reference without hypothesis, a hypothesis
            without reference, a reference without language, or (``lid``) a
            reference without exactly one tag; naming the language whose references
            have no character.
    """
    _check_ids(refs, hyps)
    counts: Dict[str, List[int]] = {}
    confusions: Counter = Counter()
    for utt, ref in refs.items():
        lang = utt2lang.get(utt)
        if not lang:
            raise _UtteranceError(utt, "ref", f"no language for '{utt}' in utt2lang")
        errors, n = char_errors(scoring_form(ref, lang), scoring_form(hyps[utt], lang))
        c = counts.setdefault(lang, [0, 0, 0])
        c[0], c[1], c[2] = c[0] + 1, c[1] + errors, c[2] + n
        if lid:
            confusions[_reference_tag(utt, ref), _hypothesis_tag(hyps[utt])] += 1
    languages = {lang: LanguageScore(lang, *counts[lang]) for lang in sorted(counts)}
    for score in languages.values():
        score.cer  # raises for a language without reference characters
    if not lid:
        return SuperbScores(languages)
    correct = sum(n for (ref, hyp), n in confusions.items() if ref == hyp)
    return SuperbScores(languages, correct, len(refs), dict(confusions))


def language_of_id(utt: str) -> str:
    """The language of an ML-SUPERB id: ``fleurs_lit_000097`` -> ``lit``.

    Raises:
        ValueError: naming an id that is not ``<dataset>_<iso>_<number>``.
    """
    match = UTT_ID.fullmatch(utt)
    if not match:
        raise ValueError(
            f"utterance id '{utt}' is not <dataset>_<iso>_<number> (like"
            " fleurs_lit_000097), so its language is unknown - give --utt2lang"
        )
    return match["iso"]


def utt2lang_from_ids(utts: Iterable[str]) -> Dict[str, str]:
    """``{utt: language}`` from ML-SUPERB ids (:func:`language_of_id`)."""
    return {utt: language_of_id(utt) for utt in utts}


def _read_utt2lang(path: Path) -> Dict[str, str]:
    """An ``utt2lang`` file; an entry without language is an error at its line."""
    out = {}
    for e in read_kaldi_entries(path):
        if not e.value:
            raise ValueError(f"{path}:{e.lineno}: no language for '{e.key}'")
        out[e.key] = e.value
    return out


def _langs_from_ids(ref: Path, entries: List[KaldiEntry]) -> Dict[str, str]:
    """:func:`language_of_id` of every reference, an error naming its line."""
    out = {}
    for e in entries:
        try:
            out[e.key] = language_of_id(e.key)
        except ValueError as err:
            raise ValueError(f"{ref}:{e.lineno}: {err}") from err
    return out


def score_files(
    hyp: Path, ref: Path, utt2lang: Optional[Path] = None, lid: bool = False
) -> SuperbScores:
    """Scores Kaldi-style files (see the module docstring).

    Args:
        hyp: Hypotheses, ``<utt> <text>`` (empty text allowed).
        ref: References, ``<utt> <text>``, the same ids.
        utt2lang: ``<utt> <iso>``; None: the languages come from the ids.
        lid: Also score LID (see :func:`score_utterances`).

    Returns:
        The scores.

    Raises:
        ValueError: naming ``file:line`` of a malformed line or of the utterance at
            fault (see :func:`score_utterances`).
    """
    hyp, ref = Path(hyp), Path(ref)
    hyp_entries, ref_entries = read_kaldi_entries(hyp), read_kaldi_entries(ref)
    if utt2lang is None:
        langs = _langs_from_ids(ref, ref_entries)
    else:
        langs = _read_utt2lang(Path(utt2lang))
    lines = {
        "hyp": (hyp, {e.key: e.lineno for e in hyp_entries}),
        "ref": (ref, {e.key: e.lineno for e in ref_entries}),
    }
    try:
        scores = score_utterances(
            {e.key: e.value for e in ref_entries},
            {e.key: e.value for e in hyp_entries},
            langs,
            lid,
        )
    except _UtteranceError as err:
        path, lineno = lines[err.side]
        raise ValueError(
            f"{path}:{lineno[err.utt]}: {err} (scoring {hyp} against {ref})"
        ) from err
    empty = sum(1 for e in hyp_entries if not e.value)
    if empty:
        logger.warning(f"{hyp}: {empty} of {len(hyp_entries)} hypotheses are empty")
    return scores


def normalized_score(value: float, baseline: float, best: float) -> Optional[float]:
    """One SUPERB_s term: ``(value - baseline) / (best - baseline)``.

    0 at the baseline, 1 at the best; None when ``best == baseline`` (no range).
    """
    if best == baseline:
        return None
    return (value - baseline) / (best - baseline)


def _mean_term(metrics: Mapping[str, Tuple[float, float, float]]) -> Optional[float]:
    """The mean of the defined :func:`normalized_score` terms (None if none)."""
    terms = [normalized_score(*vbb) for vbb in metrics.values()]
    defined = [t for t in terms if t is not None]
    return statistics.fmean(defined) if defined else None


def superb_score(metrics: Mapping[str, Tuple[float, float, float]]) -> Optional[float]:
    """SUPERB_s of one track: ``1000 *`` the mean of its terms.

    Args:
        metrics: ``{metric: (value, baseline, best)}``; a metric whose baseline
            equals its best is left out.

    Returns:
        The score, or None when no metric is left.
    """
    mean = _mean_term(metrics)
    return None if mean is None else 1000.0 * mean


def superb_score_by_track(
    per_track: Mapping[str, Mapping[str, Tuple[float, float, float]]],
) -> Optional[float]:
    """SUPERB_s over tracks: ``1000/T sum_t 1/|I_t| sum_i term_ti``.

    Args:
        per_track: ``{track: {metric: (value, baseline, best)}}``; a track with no
            defined term is left out (and not counted in T).

    Returns:
        The score, or None when no track is left.
    """
    means = [_mean_term(metrics) for metrics in per_track.values()]
    defined = [m for m in means if m is not None]
    return 1000.0 * statistics.fmean(defined) if defined else None


def get_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--hyp", type=Path, required=True, help="hypotheses")
    parser.add_argument("--ref", type=Path, required=True, help="references")
    parser.add_argument(
        "--utt2lang",
        type=Path,
        default=None,
        help="<utt> <iso> (default: the iso of the ids <dataset>_<iso>_<number>)",
    )
    parser.add_argument("--lid", action="store_true", help="also score LID tags")
    parser.add_argument(
        "--outdir", type=Path, required=True, help="writes result.txt, result.json"
    )
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = get_args(argv)
    setup_logging()
    scores = score_files(args.hyp, args.ref, args.utt2lang, args.lid)
    write_result(scores, args.outdir)
    print(scores.summary())


if __name__ == "__main__":
    from espnet2_ext.utils.deps import run_cli

    run_cli(main, input_errors=True)
