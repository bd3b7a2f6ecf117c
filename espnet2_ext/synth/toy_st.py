"""A tiny synthetic speech-translation set in ESPnet's layout, and its train command.

Used by tests, benchmarks and ``espnet2_ext.bin.smoke`` to run ESPnet's real trainer in
seconds on a CPU. Each English word is a short, word-specific chord of sine tones; a
sentence of 1-3 words is their concatenation with small pauses, and the target is its
word-by-word German rendering. It is learnable in principle, but tiny: a smoke test of
the whole path (data loading, frontend, trainer, checkpoints, decoding, scoring), not a
benchmark.

Layout written under ``root``::

    {train,valid}/wav/<utt>.wav   16 kHz mono PCM16
    {train,valid}/wav.scp text.en text.de speech_shape text_shape
    tokens.de.txt tokens.en.txt   character token lists (<blank> <unk> ... <sos/eos>)
"""

import math
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
import soundfile

FS = 16000
#: English word -> German word; the toy lexicon.
LEXICON: Dict[str, str] = {
    "one": "eins",
    "two": "zwei",
    "three": "drei",
    "red": "rot",
    "green": "gruen",
    "blue": "blau",
    "cat": "katze",
    "dog": "hund",
}


def _word_audio(word: str, rng: np.random.Generator, seconds: float = 0.25):
    """A word-specific chord (two partials) with a little noise, (S,) float32."""
    idx = sorted(LEXICON).index(word)
    t = np.arange(int(FS * seconds)) / FS
    f1, f2 = 200.0 + 90.0 * idx, 900.0 + 170.0 * idx
    wave = 0.3 * np.sin(2 * math.pi * f1 * t) + 0.2 * np.sin(2 * math.pi * f2 * t)
    wave *= np.hanning(len(t))
    return (wave + 0.01 * rng.standard_normal(len(t))).astype(np.float32)


def _sentences(n: int, rng: np.random.Generator) -> List[List[str]]:
    words = sorted(LEXICON)
    return [list(rng.choice(words, size=int(rng.integers(1, 4)))) for _ in range(n)]


def _write_lines(path: Path, lines: Sequence[str]) -> None:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def _write_split(root: Path, name: str, n: int, rng: np.random.Generator) -> None:
    split = root / name
    (split / "wav").mkdir(parents=True, exist_ok=True)
    scp, en, de, speech_shape, text_shape = [], [], [], [], []
    pause = np.zeros(int(0.05 * FS), dtype=np.float32)
    for i, words in enumerate(_sentences(n, rng)):
        utt = f"{name}_{i:04d}"
        pieces = [pause]
        for word in words:
            pieces += [_word_audio(word, rng), pause]
        audio = np.concatenate(pieces)
        wav = split / "wav" / f"{utt}.wav"
        soundfile.write(wav, audio, FS, subtype="PCM_16")
        target = " ".join(LEXICON[w] for w in words)
        scp.append(f"{utt} {wav.resolve()}")
        en.append(f"{utt} {' '.join(words)}")
        de.append(f"{utt} {target}")
        speech_shape.append(f"{utt} {len(audio)}")
        text_shape.append(f"{utt} {len(target)}")
    for fname, lines in [
        ("wav.scp", scp),
        ("text.en", en),
        ("text.de", de),
        ("speech_shape", speech_shape),
        ("text_shape", text_shape),
    ]:
        _write_lines(split / fname, lines)


def _char_tokens(words: Sequence[str]) -> List[str]:
    chars = sorted(set("".join(words)))
    return ["<blank>", "<unk>", "<space>"] + chars + ["<sos/eos>"]


def make_toy_st(
    root, n_train: int = 16, n_valid: int = 4, seed: int = 0
) -> Dict[str, Path]:
    """Writes the toy set (once: an existing complete set is reused).

    Args:
        root: Output directory.
        n_train: Training utterances.
        n_valid: Validation utterances.
        seed: Seed of the sentence choice and the noise.

    Returns:
        Paths by name: ``root``, ``train``, ``valid``, ``tokens_de``, ``tokens_en``.
    """
    root = Path(root)
    paths = dict(
        root=root,
        train=root / "train",
        valid=root / "valid",
        tokens_de=root / "tokens.de.txt",
        tokens_en=root / "tokens.en.txt",
    )
    done = root / ".done"
    if done.exists():
        return paths
    rng = np.random.default_rng(seed)
    _write_split(root, "train", n_train, rng)
    _write_split(root, "valid", n_valid, rng)
    _write_lines(paths["tokens_de"], _char_tokens(LEXICON.values()))
    _write_lines(paths["tokens_en"], _char_tokens(LEXICON.keys()))
    done.touch()
    return paths


def st_train_args(
    data: Dict[str, Path],
    output_dir,
    config: Optional[Path] = None,
    max_epoch: int = 1,
    extra: Sequence[str] = (),
) -> List[str]:
    """Command-line arguments of ``espnet2_ext.bin.st_train`` on the toy set."""
    args = [
        "--output_dir", str(output_dir),
        "--token_type", "char",
        "--src_token_type", "char",
        "--token_list", str(data["tokens_de"]),
        "--src_token_list", str(data["tokens_en"]),
        "--non_linguistic_symbols", "none",
        "--cleaner", "none",
        "--use_preprocessor", "true",
        "--batch_type", "unsorted",
        "--batch_size", "4",
        "--max_epoch", str(max_epoch),
        "--num_workers", "0",
        "--ngpu", "0",
        "--seed", "0",
        "--use_tensorboard", "false",
        "--use_matplotlib", "false",
        "--num_att_plot", "0",
        "--log_interval", "1",
    ]  # fmt: skip
    for split in ("train", "valid"):
        d = data[split]
        args += [
            f"--{split}_data_path_and_name_and_type", f"{d / 'wav.scp'},speech,sound",
            f"--{split}_data_path_and_name_and_type", f"{d / 'text.de'},text,text",
            f"--{split}_data_path_and_name_and_type", f"{d / 'text.en'},src_text,text",
            f"--{split}_shape_file", str(d / "speech_shape"),
        ]  # fmt: skip
    if config is not None:
        args = ["--config", str(config)] + args
    return args + list(extra)


def tiny_st_config(frontend: str = "multiview", frontend_conf: Optional[dict] = None):
    """A minimal ST model config (1-block transformer encoder/decoder, width 32)."""
    return dict(
        frontend=frontend,
        frontend_conf=dict(frontend_conf or {}),
        normalize="utterance_mvn",
        encoder="transformer",
        encoder_conf=dict(
            output_size=32,
            attention_heads=2,
            linear_units=64,
            num_blocks=1,
            input_layer="linear",
            dropout_rate=0.0,
        ),
        decoder="transformer",
        decoder_conf=dict(
            attention_heads=2, linear_units=64, num_blocks=1, dropout_rate=0.0
        ),
        model_conf=dict(
            asr_weight=0.0,
            mt_weight=0.0,
            mtlalpha=0.0,
            lsm_weight=0.1,
            extract_feats_in_collect_stats=False,
        ),
        optim="adam",
        optim_conf=dict(lr=0.002),
    )
