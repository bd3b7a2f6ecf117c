"""A miniature MuST-C tree in the released layout, for tests and the recipe's smoke run.

Usage::

    python -m espnet2_ext.recipes.mustc.fake_corpus --root DIR --tgt_langs de fr \\
        [--train_talks 6 --segments_per_talk 6 --seed 0]

Writes, for each target language (the layout :mod:`espnet2_ext.recipes.mustc.data_prep`
reads)::

    DIR/en-<tgt>/data/<set>/wav/ted_<talk>.wav     16 kHz mono PCM16, one per talk
    DIR/en-<tgt>/data/<set>/txt/<set>.yaml         "- {duration: 1.730000, offset:
                                                   0.620000, rW: 7, uW: 0,
                                                   speaker_id: spk.4, wav: ted_4.wav}"
    DIR/en-<tgt>/data/<set>/txt/<set>.en           English, line-aligned
    DIR/en-<tgt>/data/<set>/txt/<set>.<tgt>        its translation, line-aligned

for the sets ``train`` (``talks`` talks), ``dev`` (2), ``tst-COMMON`` and ``tst-HE``
(1 each). Talk ids are distinct across sets and cross a power of ten (``ted_7`` and
``ted_10``), so that id padding matters. Each talk has ``segments_per_talk`` segments
of 1.0-2.5 s (times in hundredths of a second, as MuST-C's), with gaps between them and
after the last one; the audio is a tone per sentence over quiet noise. Texts are real
sentences with case, punctuation, curly quotes, dashes and "(Applause)" /
"(Laughter)" tags, so every normalisation step has work; each language directory gets
the same talks and English, with that language's translation (as MuST-C's en-X
directories share talks). With the defaults there are 36 training segments (about a
minute of speech): a tiny model trains on them for an epoch in seconds on a CPU.

Deterministic: the same arguments give byte-identical files. Files are written
atomically; an existing tree is overwritten.
"""

import argparse
import logging
from pathlib import Path
from typing import Dict, List, Mapping, Sequence, Tuple, Union

import numpy as np

from espnet2_ext.utils.atomic import write_text_atomic, write_wav_atomic
from espnet2_ext.utils.log import setup_logging

FS = 16000
SETS = ("train", "dev", "tst-COMMON", "tst-HE")
DEFAULT_TALKS: Dict[str, int] = {"train": 6, "dev": 2, "tst-COMMON": 1, "tst-HE": 1}
DEFAULT_SEGMENTS_PER_TALK = 6
#: First talk id and step of each set: distinct ranges, the train ids cross 10.
TALK_IDS = {
    "train": (1, 3),
    "dev": (1001, 7),
    "tst-COMMON": (2001, 7),
    "tst-HE": (3001, 7),
}
SEGMENT_CS = (100, 250)  # segment length, hundredths of a second
GAP_CS = (20, 90)
LEAD_CS = (30, 120)
TAIL_CS = (40, 150)

#: English sentences and their translations. Punctuation, case and tags on purpose.
SENTENCES: List[Dict[str, str]] = [
    {
        "en": "“Don’t panic,” she said — twice.",
        "de": "„Keine Panik“, sagte sie – zweimal.",
        "fr": "« Pas de panique », dit-elle — deux fois.",
        "es": "“No entres en pánico”, dijo ella, dos veces.",
    },
    {
        "en": "Thank you very much.(Applause)",
        "de": "Vielen Dank.(Applaus)",
        "fr": "Merci beaucoup.(Applaudissements)",
        "es": "Muchas gracias.(Aplausos)",
    },
    {
        "en": "It costs $5,000 -- e.g. for well-known T-shirts.",
        "de": "Es kostet 5.000 $ – z. B. für bekannte T-Shirts.",
        "fr": "Ça coûte 5 000 $, par exemple pour des T-shirts connus.",
        "es": "Cuesta 5.000 $, por ejemplo para camisetas conocidas.",
    },
    {
        "en": "(Laughter) So, what did we learn?",
        "de": "(Lachen) Also, was haben wir gelernt?",
        "fr": "(Rires) Alors, qu’avons-nous appris ?",
        "es": "(Risas) Entonces, ¿qué aprendimos?",
    },
    {
        "en": "The ocean is huge; we've explored only 5% of it.",
        "de": "Der Ozean ist riesig; wir haben erst 5 % davon erforscht.",
        "fr": "L’océan est immense ; nous n’en avons exploré que 5 %.",
        "es": "El océano es enorme; solo hemos explorado el 5 %.",
    },
    {
        "en": "I'm going to show you something...",
        "de": "Ich werde Ihnen etwas zeigen …",
        "fr": "Je vais vous montrer quelque chose…",
        "es": "Les voy a mostrar algo...",
    },
    {
        "en": "My grandmother was born in 1928.",
        "de": "Meine Großmutter wurde 1928 geboren.",
        "fr": "Ma grand-mère est née en 1928.",
        "es": "Mi abuela nació en 1928.",
    },
    {
        "en": "Why? Because nobody asked.",
        "de": "Warum? Weil niemand gefragt hat.",
        "fr": "Pourquoi ? Parce que personne n’a demandé.",
        "es": "¿Por qué? Porque nadie preguntó.",
    },
    {
        "en": 'This is the "real" problem: time.',
        "de": "Das ist das „eigentliche“ Problem: Zeit.",
        "fr": "Voilà le « vrai » problème : le temps.",
        "es": "Este es el problema «real»: el tiempo.",
    },
    {
        "en": "(Applause)",
        "de": "(Applaus)",
        "fr": "(Applaudissements)",
        "es": "(Aplausos)",
    },
    {
        "en": "We need new ideas, and we need them now!",
        "de": "Wir brauchen neue Ideen, und zwar jetzt!",
        "fr": "Il nous faut de nouvelles idées, et tout de suite !",
        "es": "Necesitamos ideas nuevas, ¡y las necesitamos ya!",
    },
    {
        "en": "Let me tell you a story about Dr. Smith.",
        "de": "Lassen Sie mich Ihnen eine Geschichte über Dr. Smith erzählen.",
        "fr": "Laissez-moi vous raconter l’histoire du Dr Smith.",
        "es": "Déjenme contarles una historia sobre el Dr. Smith.",
    },
]
LANGS = tuple(sorted(set(SENTENCES[0]) - {"en"}))


def _talks_per_set(talks: Union[int, Mapping[str, int]]) -> Dict[str, int]:
    if isinstance(talks, int):
        per_set = dict(DEFAULT_TALKS, train=talks)
    else:
        per_set = dict(DEFAULT_TALKS, **talks)
    unknown = set(per_set) - set(SETS)
    if unknown:
        raise ValueError(f"unknown sets {sorted(unknown)}; MuST-C's are {SETS}")
    for name, n in per_set.items():
        first, step = TALK_IDS[name]
        most = (1000 * (SETS.index(name) + 1) - first) // step  # ids stay in range
        if not 1 <= n <= most:
            raise ValueError(f"{name}: {n} talks - give 1 to {most}")
    return per_set


def _fmt(cs: int) -> str:
    """Hundredths of a second as MuST-C writes times: ``1.730000``."""
    return f"{cs // 100}.{cs % 100:02d}0000"


def _talk_audio(
    rng: np.random.Generator, segments: Sequence[Tuple[int, int, int]], total_cs: int
) -> np.ndarray:
    """Quiet noise with a tone (frequency set by the sentence) over each segment."""
    samples = 0.003 * rng.standard_normal(total_cs * FS // 100)
    for start_cs, dur_cs, sentence in segments:
        a, n = start_cs * FS // 100, dur_cs * FS // 100
        t = np.arange(n) / FS
        freq = 180.0 + 40.0 * sentence
        fade = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.02)
        samples[a : a + n] += 0.3 * fade * np.sin(2 * np.pi * freq * t)
    return samples


def _write_set(
    lang_dirs: Mapping[str, Path],
    name: str,
    talk_ids: Sequence[int],
    segments_per_talk: int,
    rng: np.random.Generator,
) -> int:
    yaml_lines: List[str] = []
    texts: Dict[str, List[str]] = {lang: [] for lang in ("en", *lang_dirs)}
    wavs: Dict[str, np.ndarray] = {}
    for talk in talk_ids:
        cs = int(rng.integers(*LEAD_CS))
        segs = []
        for _ in range(segments_per_talk):
            dur = int(rng.integers(SEGMENT_CS[0], SEGMENT_CS[1] + 1))
            sentence = int(rng.integers(len(SENTENCES)))
            segs.append((cs, dur, sentence))
            cs += dur + int(rng.integers(*GAP_CS))
        total = segs[-1][0] + segs[-1][1] + int(rng.integers(*TAIL_CS))
        wavs[f"ted_{talk}.wav"] = _talk_audio(rng, segs, total)
        for start, dur, sentence in segs:
            pair = SENTENCES[sentence]
            yaml_lines.append(
                f"- {{duration: {_fmt(dur)}, offset: {_fmt(start)},"
                f" rW: {len(pair['en'].split())}, uW: 0, speaker_id: spk.{talk},"
                f" wav: ted_{talk}.wav}}"
            )
            for lang in texts:
                texts[lang].append(pair[lang])
    for tgt, lang_dir in lang_dirs.items():
        set_dir = lang_dir / "data" / name
        for wav, samples in wavs.items():
            write_wav_atomic(set_dir / "wav" / wav, samples, FS)
        txt = set_dir / "txt"
        write_text_atomic(txt / f"{name}.yaml", "".join(f"{y}\n" for y in yaml_lines))
        for lang in ("en", tgt):
            write_text_atomic(
                txt / f"{name}.{lang}", "".join(f"{t}\n" for t in texts[lang])
            )
    return len(yaml_lines)


def build_fake_mustc(
    root: Path,
    tgt_langs: Sequence[str] = ("de",),
    talks: Union[int, Mapping[str, int]] = DEFAULT_TALKS["train"],
    segments_per_talk: int = DEFAULT_SEGMENTS_PER_TALK,
    seed: int = 0,
) -> Path:
    """Writes a miniature MuST-C tree under ``root``; returns ``root`` (``MUST_C``).

    Args:
        root: the folder to hold ``en-<tgt>/`` (created).
        tgt_langs: target languages, among :data:`LANGS`.
        talks: train talks (an int), or talks per set (``{"train": 3, "dev": 1}``;
            sets not named keep :data:`DEFAULT_TALKS`).
        segments_per_talk: segments in each talk.
        seed: the random seed of times, sentences and audio.

    Returns:
        ``root``.

    Example::

        >>> root = build_fake_mustc(tmp_path / "mustc", ("de",), talks=2)
        >>> sorted(p.name for p in (root / "en-de" / "data").iterdir())
        ['dev', 'train', 'tst-COMMON', 'tst-HE']
    """
    root = Path(root)
    unknown = [lang for lang in tgt_langs if lang not in LANGS]
    if unknown or not tgt_langs:
        raise ValueError(f"tgt_langs {list(tgt_langs)}: give some of {LANGS}")
    if segments_per_talk < 1:
        raise ValueError(f"segments_per_talk {segments_per_talk}: give at least 1")
    per_set = _talks_per_set(talks)
    rng = np.random.default_rng(seed)
    lang_dirs = {lang: root / f"en-{lang}" for lang in tgt_langs}
    for name in SETS:
        first, step = TALK_IDS[name]
        ids = [first + step * i for i in range(per_set[name])]
        n = _write_set(lang_dirs, name, ids, segments_per_talk, rng)
        logging.info("%s: %d talks, %d segments", name, len(ids), n)
    return root


def get_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, required=True, help="the MUST_C folder")
    parser.add_argument("--tgt_langs", nargs="+", default=["de"], choices=LANGS)
    parser.add_argument("--train_talks", type=int, default=DEFAULT_TALKS["train"])
    parser.add_argument(
        "--segments_per_talk", type=int, default=DEFAULT_SEGMENTS_PER_TALK
    )
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = get_args(argv)
    setup_logging()
    root = build_fake_mustc(
        args.root, args.tgt_langs, args.train_talks, args.segments_per_talk, args.seed
    )
    print(root)


if __name__ == "__main__":
    from espnet2_ext.utils.deps import run_cli

    run_cli(main, input_errors=True)
