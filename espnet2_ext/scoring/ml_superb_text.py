"""ML-SUPERB's transcript conventions: the text normalisation and the LID tags.

ML-SUPERB (Shi et al., Interspeech 2023; ESPnet ``egs2/ml_superb/asr1``) trains and
scores on transcripts normalised by its ``local/data_prep.py``:

1. :func:`remove_bracketed`: drop every ``[...]`` span (the corpora's tags, such as
   ``[laughter]``; ESPnet's pattern ``\\[[^()]*\\]``);
2. drop every character of Python's ``string.punctuation``;
3. upper-case.

Whitespace is then collapsed here (ESPnet writes the text as it is left, so a dropped
tag can leave two spaces, which its char tokenizer turns into two ``<space>`` tokens;
collapsing is the one deviation, and it is the same for references and hypotheses).

In the multilingual + LID track every transcript starts with its language's ISO 639-3
code in brackets (``[fra] BONJOUR``), a non-linguistic symbol: one token of the char
token list, never split into characters. :func:`lid_tags` finds them in a hypothesis.

Languages written without spaces between words (Chinese, Japanese, Thai, ...) are
scored on their characters only: :func:`scoring_text` removes their spaces
(:data:`LANGS_WITHOUT_SPACES`).

Example::

    >>> normalize_transcript("Où est l'étagère ? [noise]")
    'OÙ EST LÉTAGÈRE'
    >>> with_lid("fra", "OÙ EST")
    '[fra] OÙ EST'
"""

import re
import string
from typing import List

#: ESPnet's tag pattern in ``local/data_prep.py``: a bracketed span without parentheses.
BRACKETED = re.compile(r"\[[^()]*\]")
#: A language tag as ML-SUPERB writes it: ``[xxx]`` or ``[xxx_yyy]`` (ISO 639-3).
LID_TAG = re.compile(r"\[[a-z]{3}(?:_[a-z]{3})?\]")
#: ISO 639-3 codes of languages written without spaces between words.
LANGS_WITHOUT_SPACES = frozenset({"cmn", "jpn", "yue", "tha", "lao", "mya", "khm"})
#: An ML-SUPERB utterance id, ``<dataset>_<iso>_<number>`` (``fleurs_fra_000097``):
#: the iso is the second-to-last ``_`` field (a dataset may hold ``_``, a number not).
UTT_ID = re.compile(r"(?P<dataset>.+)_(?P<iso>[a-z]{3})_(?P<number>[0-9]+)")
_PUNCTUATION = str.maketrans("", "", string.punctuation)


def remove_bracketed(text: str) -> str:
    """``text`` without its ``[...]`` spans (ESPnet's pattern, :data:`BRACKETED`)."""
    return BRACKETED.sub("", text)


def collapse_whitespace(text: str) -> str:
    """Single spaces between words, none at the ends."""
    return " ".join(text.split())


def normalize_transcript(text: str) -> str:
    """ML-SUPERB's normalisation: no ``[...]`` spans, no ASCII punctuation, upper case.

    Args:
        text: A raw transcript.

    Returns:
        The normalised transcript, whitespace collapsed ('' when nothing is left).
    """
    text = remove_bracketed(text).translate(_PUNCTUATION).upper()
    return collapse_whitespace(text)


def lid_tag(lang: str) -> str:
    """The LID token of an ISO 639-3 code: ``fra`` -> ``[fra]``."""
    tag = f"[{lang}]"
    if not LID_TAG.fullmatch(tag):
        raise ValueError(f"not an ISO 639-3 language code: {lang!r}")
    return tag


def with_lid(lang: str, text: str) -> str:
    """A transcript of the LID track: the language tag, a space, the text."""
    return f"{lid_tag(lang)} {text}" if text else lid_tag(lang)


def lid_tags(text: str) -> List[str]:
    """The language codes tagged in ``text``, in order: ``'[fra] A [deu]'`` ->
    ``['fra', 'deu']``."""
    return [tag[1:-1] for tag in LID_TAG.findall(text)]


def scoring_text(text: str, lang: str) -> str:
    """The text CER is computed on: no LID tags, whitespace collapsed, and no spaces
    at all for a language of :data:`LANGS_WITHOUT_SPACES`."""
    text = collapse_whitespace(LID_TAG.sub(" ", text))
    if lang in LANGS_WITHOUT_SPACES:
        text = text.replace(" ", "")
    return text
