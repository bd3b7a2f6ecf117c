"""Text normalisation for scoring: the steps, their fixed order, and how to report them.

Both scorers (:mod:`espnet2_ext.scoring.st` and
:mod:`espnet2_ext.scoring.asr`) apply the same steps to hypotheses and
references, in this order, each logged with the number of lines it changed and stated
in the result file:

1. ``unicode_nfc``: Unicode NFC composition;
2. ``collapse_whitespace``: runs of whitespace to one space, stripped at both ends;
3. ``remove_nonspeech_tags`` (only when asked; MuST-C references keep tags such as
   "(Applause)"): parenthesised tags matching ``NONSPEECH_TAG_PATTERN``;
4. ``lowercase`` (only with case ``lc``).
"""

import logging
import re
import unicodedata
from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence, Tuple

CASES = ("cased", "lc")
# A non-speech tag: one to four words in parentheses, the first capitalised, no
# digits, e.g. "(Applause)", "(Laughter)", "(Music)", "(Applause ends)", "(Lachen)".
NONSPEECH_TAG_PATTERN = r"\(\s*[A-ZÀ-Þ][^\s()\d]*(?:\s+[^\s()\d]+){0,3}\s*\)"
_TAG_RE = re.compile(NONSPEECH_TAG_PATTERN)
_WS_RE = re.compile(r"\s+")


def unicode_nfc(line: str) -> str:
    """Unicode NFC composition (e.g. "e" + combining acute -> "é")."""
    return unicodedata.normalize("NFC", line)


def collapse_whitespace(line: str) -> str:
    """Runs of whitespace (tabs, no-break spaces, ...) to one space; stripped."""
    return _WS_RE.sub(" ", line).strip()


def remove_nonspeech_tags(line: str, pattern: str = NONSPEECH_TAG_PATTERN) -> str:
    """Removes non-speech tags like "(Applause)"; re-collapses the whitespace left."""
    regex = _TAG_RE if pattern == NONSPEECH_TAG_PATTERN else re.compile(pattern)
    return collapse_whitespace(regex.sub(" ", line))


def lowercase(line: str) -> str:
    """Lowercases (``str.lower``)."""
    return line.lower()


@dataclass
class StepCount:
    """One normalisation step and the lines it changed on each side."""

    step: str
    enabled: bool
    hyp_changed: int = 0
    ref_changed: int = 0
    note: str = ""


def normalization_steps(
    case: str, remove_tags: bool
) -> List[Tuple[str, Optional[Callable[[str], str]], str]]:
    """The steps in their fixed order: ``(name, function or None if off, note)``."""
    if case not in CASES:
        raise ValueError(f"case must be one of {CASES}, got '{case}'")
    return [
        ("unicode_nfc", unicode_nfc, "Unicode NFC"),
        ("collapse_whitespace", collapse_whitespace, "whitespace runs to one space"),
        (
            "remove_nonspeech_tags",
            remove_nonspeech_tags if remove_tags else None,
            (
                f"pattern {NONSPEECH_TAG_PATTERN}"
                if remove_tags
                else "off (--remove_tags not given): tags such as"
                ' "(Applause)" are kept, as in the MuST-C references'
            ),
        ),
        (
            "lowercase",
            lowercase if case == "lc" else None,
            (
                "both sides lowercased (--case lc)"
                if case == "lc"
                else "off (--case cased)"
            ),
        ),
    ]


def apply_step(fn: Callable[[str], str], lines: Sequence[str]) -> Tuple[List[str], int]:
    """``fn`` applied to every line, and the number of lines it changed."""
    out = [fn(line) for line in lines]
    return out, sum(a != b for a, b in zip(lines, out))


def normalize(
    hyps: Sequence[str], refs: Sequence[str], case: str, remove_tags: bool
) -> Tuple[List[str], List[str], List[StepCount]]:
    """Applies the normalisation steps in order to both sides, logging each count."""
    hyps, refs = list(hyps), list(refs)
    counts = []
    for name, fn, note in normalization_steps(case, remove_tags):
        count = StepCount(name, fn is not None, note=note)
        if fn is not None:
            hyps, count.hyp_changed = apply_step(fn, hyps)
            refs, count.ref_changed = apply_step(fn, refs)
            logging.info(
                f"normalisation {name}: changed {count.hyp_changed} hypothesis and"
                f" {count.ref_changed} reference lines"
            )
        else:
            logging.info(f"normalisation {name}: {note}")
        counts.append(count)
    return hyps, refs, counts


def case_note(case: str) -> str:
    """How ``case`` was applied, for result files."""
    if case == "cased":
        return "cased (no lowercasing)"
    return "lc (hypotheses and references lowercased)"


def normalization_lines(steps: Sequence[StepCount]) -> List[str]:
    """The normalisation steps with their counts, for result files."""
    lines = ["normalisation, in this order, on both sides (lines changed):"]
    for i, s in enumerate(steps, start=1):
        if s.enabled:
            lines.append(
                f"  {i}. {s.step}: hyp {s.hyp_changed}, ref {s.ref_changed} ({s.note})"
            )
        else:
            lines.append(f"  {i}. {s.step}: {s.note}")
    return lines
