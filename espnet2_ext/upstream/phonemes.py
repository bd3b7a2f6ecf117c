"""English phoneme sequences from espeak-ng, and the phone inventory built from them.

``espeak-ng -q -x --sep=' ' -v en-us`` prints Kirshenbaum-style ASCII phoneme
mnemonics, one clause per line, phonemes separated by a space and words by two::

    $ espeak-ng -q -x --sep=' ' -v en-us "Change your password now, please."
    tS 'eI n dZ  j U@  p 'aa s w 3: d  n 'aU
    p l 'i: z

:func:`parse_espeak` drops the stress marks (``'`` primary, ``,`` secondary) and the
pause symbols (``_``...), so the example gives ``tS eI n dZ j U@ p aa s w 3: d n aU
p l i: z``. Every text is phonemised with one voice (``en-us``) whoever speaks it: the
labels are a lexicon's, not a transcription of each synthetic accent.
The inventory is computed from the training transcripts (:func:`build_inventory`),
never hard-coded.
"""

import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, List, Sequence

#: espeak-ng voice whose pronunciation gives the labels.
PHONEMIZER_VOICE = "en-us"
#: CTC blank, index 0 of every inventory.
BLANK = "<blank>"
_STRESS = "',"


def parse_espeak(output: str) -> List[str]:
    """Phonemes of ``espeak-ng -x --sep=' '`` output, without stress and pauses."""
    phones = []
    for token in output.split():
        token = token.lstrip(_STRESS)
        if token and not token.startswith("_"):
            phones.append(token)
    return phones


def phonemize(text: str, voice: str = PHONEMIZER_VOICE) -> List[str]:
    """Phonemes of one English text.

    Raises:
        RuntimeError: espeak-ng is missing or failed (message has the command).
    """
    if shutil.which("espeak-ng") is None:
        raise RuntimeError(
            "espeak-ng not found; install it with: sudo apt-get install -y espeak-ng"
        )
    cmd = ["espeak-ng", "-q", "-x", "--sep= ", "-v", voice, text]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd} failed: {proc.stderr.strip()}")
    return parse_espeak(proc.stdout)


def phonemize_all(texts: Sequence[str], nj: int = 2) -> List[List[str]]:
    """:func:`phonemize` of each text, ``nj`` espeak-ng processes at a time."""
    with ThreadPoolExecutor(max(1, nj)) as pool:
        return list(pool.map(phonemize, texts))


def build_inventory(sequences: Sequence[Sequence[str]]) -> List[str]:
    """``[BLANK] + sorted distinct phones`` of the training sequences."""
    return [BLANK] + sorted({p for seq in sequences for p in seq})


def encode(phones: Sequence[str], inventory: Sequence[str]) -> List[int]:
    """Indices of ``phones`` in ``inventory``; phones it lacks are dropped.

    A held-out text may hold a phone no training text has; dropped from a *training*
    target it could not be learnt anyway (references for scoring keep it).
    """
    index: Dict[str, int] = {p: i for i, p in enumerate(inventory)}
    return [index[p] for p in phones if p in index]
