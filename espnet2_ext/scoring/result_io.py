"""What both scorers share around the scores: the hyp/ref reader and the result files.

:func:`read_pair` reads a hypothesis and a reference file (``<utt> <text>``) and
checks that they hold the same ids; :func:`write_result` writes any
:class:`ScoreReport` (ST: :class:`espnet2_ext.scoring.st.StScoreResult`, ASR:
:class:`espnet2_ext.scoring.asr.AsrScoreResult`) as ``result.txt`` and
``result.json``.
"""

import json
from pathlib import Path
from typing import Dict, List, Protocol, Tuple

from espnet2_ext.fileio.kaldi_io import read_kaldi_entries
from espnet2_ext.utils.atomic import write_text_atomic

# Scores are stored rounded to this many decimals (sacreBLEU prints 2); this also
# removes float noise such as 100.00000000000004 for a perfect BLEU.
DECIMALS = 4


class ScoreReport(Protocol):
    """A scorer's result: a text block for people and a dict for programs."""

    def to_text(self) -> str: ...

    def to_dict(self) -> Dict: ...


def read_pair(hyp: Path, ref: Path) -> Tuple[List[str], List[str], List[str]]:
    """Reads both files; returns ``(ids, hyps, refs)`` in reference order.

    Raises:
        ValueError: naming the file and the first id missing from it, and the line of
            the other file that has that id.
    """
    hyp_entries, ref_entries = read_kaldi_entries(hyp), read_kaldi_entries(ref)
    hyp_map = {e.key: e.value for e in hyp_entries}
    ref_map = {e.key: e.value for e in ref_entries}
    if not ref_map:
        raise ValueError(f"reference file {ref} is empty: nothing to score")
    missing = [e for e in ref_entries if e.key not in hyp_map]
    if missing:
        raise ValueError(
            f"{hyp}: no hypothesis for '{missing[0].key}' ({ref}:{missing[0].lineno};"
            f" {len(missing)} of {len(ref_map)} reference ids missing) - was decoding"
            " interrupted? Rerun it, or score against a reference restricted to the"
            " decoded ids"
        )
    extra = [e for e in hyp_entries if e.key not in ref_map]
    if extra:
        raise ValueError(
            f"{ref}: no reference for '{extra[0].key}' ({hyp}:{extra[0].lineno};"
            f" {len(extra)} hypothesis ids not in {ref}) - hypothesis and reference"
            " come from different sets"
        )
    ids = list(ref_map)
    return ids, [hyp_map[u] for u in ids], [ref_map[u] for u in ids]


def write_result(result: ScoreReport, outdir: Path) -> None:
    """Writes ``outdir/result.txt`` (``to_text()``) and ``outdir/result.json``."""
    outdir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(outdir / "result.txt", result.to_text())
    write_text_atomic(
        outdir / "result.json",
        json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n",
    )
