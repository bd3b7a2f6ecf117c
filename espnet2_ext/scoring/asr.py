"""Stage 13 "score" of ASR: word and character error rates (WER, CER).

Reads two Kaldi-style files ``<utt> <text>``: the hypotheses (ESPnet's decoded
``text``, possibly with empty lines ``<utt>`` alone) and the references (the data
dir's ``text``). Their ids must be the same sets (an error names the file, the id and
the line of the other file that has it); segments are scored in reference order. The
files are read and normalised by :mod:`espnet2_ext.scoring.text_norm`, so ASR and ST
scores see the same text:

1. ``unicode_nfc``; 2. ``collapse_whitespace``; 3. ``remove_nonspeech_tags`` (only
with ``--remove_tags``); 4. ``lowercase`` (only with ``--case lc``). Punctuation is
kept: it is scored as written in the references.

Tokens, on the normalised text:

- words: the space-separated tokens;
- characters: every character, the single space between two words included as one
  token (as ESPnet's ``asr.sh`` scores ``char`` tokens with ``<space>``).

Each segment's edit distance (unit costs) is computed with ``editdistance``, the
library ESPnet uses. Its split into substitutions (S), deletions (D) and insertions
(I) comes from ``jiwer`` (4.0.0: ``process_words`` on the tokens above, i.e. the
minimum-cost alignment of rapidfuzz's Levenshtein opcodes; ``ref "a b"``, ``hyp "b
c"`` counts two substitutions); their sum is checked to equal the ``editdistance``
distance. Rates are corpus-level: ``100 * (S + D + I) / reference tokens``.

Writes ``OUTDIR/result.txt`` (its first two lines start with ``WER =`` and ``CER =``,
then the files, counts, tokens and normalisation steps with their counts) and
``OUTDIR/result.json`` (``wer``, ``cer`` and the counts under ``word`` and ``char``).

Usage::

    python -m espnet2_ext.scoring.asr --hyp exp/asr/decode_test/text \\
        --ref dump/raw/test/text --outdir exp/asr/decode_test/score
"""

import argparse
import logging
from dataclasses import asdict, astuple, dataclass, field
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import editdistance
import jiwer

from espnet2_ext.scoring.result_io import DECIMALS, read_pair, write_result
from espnet2_ext.scoring.text_norm import (
    CASES,
    StepCount,
    case_note,
    normalization_lines,
    normalize,
)
from espnet2_ext.utils.log import setup_logging


def words(text: str) -> List[str]:
    """The word tokens of a normalised line (whitespace already collapsed)."""
    return text.split()


def chars(text: str) -> List[str]:
    """The character tokens of a normalised line, spaces between words included."""
    return list(text)


def _pretokenized(sentences: Sequence[Sequence[str]]) -> List[List[str]]:
    """jiwer transform for sentences given as token lists (tokenised here)."""
    return [list(tokens) for tokens in sentences]


def align_with_jiwer(ref: Sequence[str], hyp: Sequence[str]) -> Tuple[int, int, int]:
    """``(substitutions, deletions, insertions)`` of jiwer's alignment of two token
    sequences (``jiwer.process_words`` on the given tokens, no jiwer tokenisation)."""
    out = jiwer.process_words([list(ref)], [list(hyp)], _pretokenized, _pretokenized)
    return out.substitutions, out.deletions, out.insertions


@dataclass(frozen=True)
class ErrorCounts:
    """Edit operations against the references, summed over segments.

    Attributes:
        ref_tokens: tokens in the references (the rate's denominator).
        hyp_tokens: tokens in the hypotheses.
        substitutions, deletions, insertions: the operations of the alignments.
    """

    ref_tokens: int = 0
    hyp_tokens: int = 0
    substitutions: int = 0
    deletions: int = 0
    insertions: int = 0

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    def __add__(self, other: "ErrorCounts") -> "ErrorCounts":
        return ErrorCounts(*(a + b for a, b in zip(astuple(self), astuple(other))))

    def rate(self) -> float:
        """``100 * errors / ref_tokens``, rounded to ``DECIMALS`` decimals."""
        if self.ref_tokens == 0:
            raise ValueError(
                "the references have no tokens: the error rate is undefined"
            )
        return round(100.0 * self.errors / self.ref_tokens, DECIMALS)

    def to_dict(self) -> Dict[str, int]:
        return {**asdict(self), "errors": self.errors}


def edit_counts(ref: Sequence[str], hyp: Sequence[str]) -> ErrorCounts:
    """The counts of one segment; the total is ``editdistance``'s distance."""
    distance = editdistance.eval(ref, hyp)
    ops = (0, 0, 0) if distance == 0 else align_with_jiwer(ref, hyp)
    assert sum(ops) == distance, (ref, hyp, ops, distance)
    return ErrorCounts(len(ref), len(hyp), *ops)


@dataclass
class AsrScoreResult:
    """Error rates and how they were computed.

    Attributes:
        wer, cer: the corpus error rates in percent, rounded to ``DECIMALS``.
        word, char: the summed counts behind them.
        num_segments: segments scored.
        num_empty_hyp: empty hypotheses among them (all their reference tokens are
            deletions).
        case, remove_tags: the normalisation options used.
        normalization: the steps in order with their counts.
        hyp, ref: the files scored.
    """

    wer: float
    cer: float
    word: ErrorCounts
    char: ErrorCounts
    num_segments: int
    num_empty_hyp: int
    case: str
    remove_tags: bool
    normalization: List[StepCount] = field(default_factory=list)
    hyp: str = ""
    ref: str = ""

    def to_dict(self) -> Dict:
        data = asdict(self)
        data["word"], data["char"] = self.word.to_dict(), self.char.to_dict()
        return data

    def to_text(self) -> str:
        """The human-readable block of ``result.txt``."""
        lines = [
            _rate_line("WER", self.wer, self.word, "words"),
            _rate_line("CER", self.cer, self.char, "characters"),
            "",
            f"hypothesis: {self.hyp}",
            f"reference: {self.ref}",
            f"segments: {self.num_segments} ({self.num_empty_hyp} empty hypotheses)",
            f"case: {case_note(self.case)}",
            "tokens: words split at spaces; characters including the space between"
            " words; punctuation kept",
            "edit distance: editdistance (unit costs); S/D/I of jiwer's minimum"
            " alignment (jiwer.process_words on these tokens)",
        ]
        lines += normalization_lines(self.normalization)
        return "\n".join(lines) + "\n"


def _rate_line(name: str, rate: float, c: ErrorCounts, unit: str) -> str:
    return (
        f"{name} = {rate:.2f} ({c.errors} errors / {c.ref_tokens} reference {unit}:"
        f" {c.substitutions} substitutions, {c.deletions} deletions,"
        f" {c.insertions} insertions; {c.hyp_tokens} hypothesis {unit})"
    )


def score_files(
    hyp: Path, ref: Path, case: str = "cased", remove_tags: bool = False
) -> AsrScoreResult:
    """Scores ``hyp`` against ``ref`` (see the module docstring for the text handling).

    Args:
        hyp: hypotheses, ``<utt> <text>`` (empty text allowed).
        ref: references, ``<utt> <text>``, the same ids.
        case: ``cased`` or ``lc`` (lowercase both sides).
        remove_tags: remove non-speech tags like "(Applause)" from both sides.

    Returns:
        The error rates with their counts and the normalisation counts.

    Raises:
        ValueError: on mismatched ids (naming the file, the id and the line of the
            other file), an unknown ``case``, or references without any word.
    """
    _, hyps, refs = read_pair(Path(hyp), Path(ref))
    hyps, refs, steps = normalize(hyps, refs, case, remove_tags)
    word, char = ErrorCounts(), ErrorCounts()
    for h, r in zip(hyps, refs):
        word += edit_counts(words(r), words(h))
        char += edit_counts(chars(r), chars(h))
    if word.ref_tokens == 0:
        raise ValueError(f"{ref}: every reference is empty after normalisation")
    num_empty = sum(1 for h in hyps if not h)
    if num_empty:
        logging.warning(f"{hyp}: {num_empty} of {len(hyps)} hypotheses are empty")
    return AsrScoreResult(
        wer=word.rate(),
        cer=char.rate(),
        word=word,
        char=char,
        num_segments=len(hyps),
        num_empty_hyp=num_empty,
        case=case,
        remove_tags=remove_tags,
        normalization=steps,
        hyp=str(hyp),
        ref=str(ref),
    )


def get_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--hyp", type=Path, required=True, help="hypotheses")
    parser.add_argument("--ref", type=Path, required=True, help="references")
    parser.add_argument(
        "--outdir", type=Path, required=True, help="writes result.txt, result.json"
    )
    parser.add_argument("--case", choices=CASES, default="cased")
    parser.add_argument(
        "--remove_tags",
        action="store_true",
        help='remove non-speech tags like "(Applause)" from both sides',
    )
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = get_args(argv)
    setup_logging()
    result = score_files(args.hyp, args.ref, args.case, args.remove_tags)
    write_result(result, args.outdir)  # scoring's: any result with to_text, to_dict
    print(result.to_text(), end="")


if __name__ == "__main__":
    from espnet2_ext.utils.deps import run_cli

    run_cli(main, input_errors=True)
