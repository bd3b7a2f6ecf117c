"""Stage 13 "score": BLEU, chrF and TER of a hypothesis file with sacreBLEU.

Reads two Kaldi-style files ``<utt> <text>``: the hypotheses (ESPnet's decoded
``text``, possibly with empty lines ``<utt>`` alone) and the references (the raw
``text.<lang>`` of the data dir). Their ids must be the same sets; segments are scored
in reference order.

Text handling, stated in the result file as well:

- No detokenisation is applied here. ESPnet's token-list converter already turns
  sentencepiece pieces / characters back into plain text, and references are raw text.
- The normalisation steps of :mod:`espnet2_ext.scoring.text_norm`, applied to both
  sides in their fixed order, each logged with the number of lines it changed
  (``--remove_tags``: off by default, since MuST-C references keep tags such as
  "(Applause)"; ``--case lc``: default ``cased``).

- BLEU uses sacreBLEU's tokeniser ``--tokenize`` (default ``13a``; ``zh``,
  ``ja-mecab``, ``char``, ... are sacreBLEU's others); chrF works on characters, TER
  on its own tercom tokenisation. Case is passed to all three metrics.

Writes ``OUTDIR/result.txt`` (scores with the sacreBLEU signatures verbatim, case,
tokenisation, normalisation steps with their counts, number of segments; its first
line starts with ``BLEU =``) and ``OUTDIR/result.json`` (the numbers). ``summarize``
renders several ``result.json`` files as a Markdown table.

Usage::

    python -m espnet2_ext.scoring.st --hyp exp/st/decode_tst/text \\
        --ref dump/raw/tst-COMMON/text.de --outdir exp/st/decode_tst/score
    python -m espnet2_ext.scoring.st --summarize exp/*/decode_*/score/result.json
"""

import argparse
import json
import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, List

from espnet2_ext.scoring.result_io import DECIMALS, read_pair, write_result
from espnet2_ext.scoring.text_norm import (
    CASES,
    StepCount,
    case_note,
    normalization_lines,
    normalize,
)
from espnet2_ext.utils.log import setup_logging


@dataclass
class StScoreResult:
    """Scores and how they were computed.

    Attributes:
        bleu, chrf, ter: the corpus scores, rounded to ``DECIMALS`` decimals.
        bleu_signature, chrf_signature, ter_signature: sacreBLEU's signatures.
        bleu_details: sacreBLEU's BLEU line (n-gram precisions, BP, lengths).
        num_segments: segments scored.
        num_empty_hyp: empty hypotheses among them (scored as empty).
        case, tokenize, remove_tags: the options used.
        normalization: the steps in order with their counts.
        hyp, ref: the files scored.
    """

    bleu: float
    chrf: float
    ter: float
    bleu_signature: str
    chrf_signature: str
    ter_signature: str
    bleu_details: str
    num_segments: int
    num_empty_hyp: int
    case: str
    tokenize: str
    remove_tags: bool
    normalization: List[StepCount] = field(default_factory=list)
    hyp: str = ""
    ref: str = ""

    def to_dict(self) -> Dict:
        return asdict(self)

    def to_text(self) -> str:
        """The human-readable block of ``result.txt``."""
        lines = [
            self.bleu_details,
            f"chrF2 = {self.chrf:.2f}",
            f"TER = {self.ter:.2f}",
            "",
            "sacreBLEU signatures:",
            f"  BLEU: {self.bleu_signature}",
            f"  chrF: {self.chrf_signature}",
            f"  TER: {self.ter_signature}",
            "",
            f"hypothesis: {self.hyp}",
            f"reference: {self.ref}",
            f"segments: {self.num_segments} ({self.num_empty_hyp} empty hypotheses)",
            f"case: {case_note(self.case)}",
            f"tokenisation: sacreBLEU '{self.tokenize}' for BLEU; chrF on characters;"
            " TER with its own tercom tokenisation",
            "detokenisation: none applied here - hypotheses are ESPnet's detokenised"
            " output (sentencepiece/char token_list converter), references raw text",
        ]
        lines += normalization_lines(self.normalization)
        return "\n".join(lines) + "\n"


def score_files(
    hyp: Path,
    ref: Path,
    case: str = "cased",
    tokenize: str = "13a",
    remove_tags: bool = False,
) -> StScoreResult:
    """Scores ``hyp`` against ``ref`` (see the module docstring for the text handling).

    Args:
        hyp: hypotheses, ``<utt> <text>`` (empty text allowed).
        ref: references, ``<utt> <text>``, the same ids.
        case: ``cased`` or ``lc`` (lowercase both sides).
        tokenize: sacreBLEU tokeniser for BLEU (``13a``, ``zh``, ``ja-mecab``,
            ``char``, ...).
        remove_tags: remove non-speech tags like "(Applause)" from both sides.

    Returns:
        The scores with signatures and normalisation counts.

    Raises:
        ValueError: on mismatched ids (naming the file and the first id) or an
            unknown ``case``/``tokenize``.
    """
    from sacrebleu.metrics import BLEU, CHRF, TER

    if tokenize not in BLEU.TOKENIZERS:
        raise ValueError(
            f"unknown tokenize '{tokenize}': sacreBLEU offers {list(BLEU.TOKENIZERS)}"
        )
    _, hyps, refs = read_pair(Path(hyp), Path(ref))
    hyps, refs, steps = normalize(hyps, refs, case, remove_tags)
    lc = case == "lc"
    bleu = BLEU(tokenize=tokenize, lowercase=lc)
    chrf = CHRF(lowercase=lc)
    ter = TER(case_sensitive=not lc)
    bleu_score = bleu.corpus_score(hyps, [refs])
    chrf_score = chrf.corpus_score(hyps, [refs])
    ter_score = ter.corpus_score(hyps, [refs])
    num_empty = sum(1 for h in hyps if not h)
    if num_empty:
        logging.warning(f"{hyp}: {num_empty} of {len(hyps)} hypotheses are empty")
    return StScoreResult(
        bleu=round(float(bleu_score.score), DECIMALS),
        chrf=round(float(chrf_score.score), DECIMALS),
        ter=round(float(ter_score.score), DECIMALS),
        bleu_signature=str(bleu.get_signature()),
        chrf_signature=str(chrf.get_signature()),
        ter_signature=str(ter.get_signature()),
        bleu_details=str(bleu_score),
        num_segments=len(hyps),
        num_empty_hyp=num_empty,
        case=case,
        tokenize=tokenize,
        remove_tags=remove_tags,
        normalization=steps,
        hyp=str(hyp),
        ref=str(ref),
    )


def _label(result_json: Path) -> Path:
    d = result_json.parent
    return d.parent if d.name == "score" else d


def summarize(result_jsons: List[Path]) -> str:
    """A Markdown table (model/dir, BLEU, chrF, TER) of several ``result.json`` files.

    Rows are labelled by the decode dir holding ``score/result.json``, relative to
    the dirs' common prefix (``st_a/decode_tst``).
    """
    if not result_jsons:
        raise ValueError("no result.json given to summarize")
    dirs = [_label(Path(p)) for p in result_jsons]
    common = Path(os.path.commonpath([str(d.resolve()) for d in dirs]))
    lines = ["| model/dir | BLEU | chrF | TER |", "|---|---|---|---|"]
    for path, d in zip(result_jsons, dirs):
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        label = str(d.resolve().relative_to(common))
        if label == ".":
            label = d.resolve().name
        cells = [f"{float(data[k]):.1f}" for k in ("bleu", "chrf", "ter")]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def get_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--hyp", type=Path, help="hypotheses: <utt> <text>")
    parser.add_argument("--ref", type=Path, help="references: <utt> <text>")
    parser.add_argument("--outdir", type=Path, help="writes result.txt, result.json")
    parser.add_argument("--case", choices=CASES, default="cased")
    parser.add_argument("--tokenize", default="13a", help="sacreBLEU BLEU tokeniser")
    parser.add_argument(
        "--remove_tags",
        action="store_true",
        help='remove non-speech tags like "(Applause)" from both sides',
    )
    parser.add_argument(
        "--summarize",
        type=Path,
        nargs="+",
        metavar="RESULT_JSON",
        help="print a Markdown table of these result.json files instead of scoring",
    )
    args = parser.parse_args(argv)
    if args.summarize is None and not (args.hyp and args.ref and args.outdir):
        parser.error("--hyp, --ref and --outdir are required (or --summarize)")
    return args


def main(argv=None) -> None:
    args = get_args(argv)
    setup_logging()
    if args.summarize is not None:
        print(summarize(args.summarize), end="")
        return
    result = score_files(args.hyp, args.ref, args.case, args.tokenize, args.remove_tags)
    write_result(result, args.outdir)
    print(result.to_text(), end="")


if __name__ == "__main__":
    from espnet2_ext.utils.deps import run_cli

    run_cli(main, input_errors=True)
