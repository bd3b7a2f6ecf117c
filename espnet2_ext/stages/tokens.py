"""Stage 5: token models and ESPnet token lists for the source and target texts.

Reads a Kaldi text file (``<utt> <text>``), trains a sentencepiece model for
``--token_type bpe`` (sentencepiece's own trainer), and writes ESPnet's token list
with ``espnet2.bin.tokenize_text`` (``<blank>`` first, ``<unk>`` second,
``<sos/eos>`` last), exactly as ESPnet's ``st.sh`` does.

Non-linguistic symbols (``--nlsyms_txt``: one per line, e.g. ML-SUPERB's language
tags ``[fra]``) are kept whole: one token each, never split into characters or pieces
(ESPnet's ``non_linguistic_symbols``; for bpe they are sentencepiece's user-defined
symbols).

Writes into ``--out_dir``: ``train.txt`` (the text without ids), ``bpe.model`` /
``bpe.vocab`` (bpe only), ``tokens.txt``, and ``.done`` last. ``.done`` records the
text file's digest and the options (:mod:`espnet2_ext.fileio.stamp`): a finished
directory is skipped while they are unchanged, and rebuilt (saying why) otherwise.

Usage::

    python -m espnet2_ext.stages.tokens --text data/train/text.de \\
        --token_type bpe --nbpe 1000 --out_dir data/token_list/tgt_bpe_unigram1000
"""

import argparse
import logging
import re
from pathlib import Path
from typing import List, Optional, Sequence

from espnet2_ext.fileio.kaldi_io import read_kaldi_map
from espnet2_ext.fileio.stamp import check_stamp, log_check, make_stamp, write_stamp
from espnet2_ext.utils.log import setup_logging

SPECIAL = ("<blank>:0", "<unk>:1", "<sos/eos>:-1")


def write_plain_text(text_file: Path, out: Path) -> int:
    """Writes the transcripts of a Kaldi text file without ids; returns the count."""
    lines = list(read_kaldi_map(text_file).values())
    out.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return len(lines)


def read_nlsyms(path: Optional[Path]) -> List[str]:
    """The non-linguistic symbols of ``path`` (one per line, blank lines ignored)."""
    if path is None:
        return []
    return [
        line.strip() for line in path.read_text("utf-8").splitlines() if line.strip()
    ]


def train_sentencepiece(
    text: Path,
    prefix: Path,
    vocab_size: int,
    model_type: str = "unigram",
    user_symbols: Sequence[str] = (),
) -> Path:
    """Trains a sentencepiece model (``<prefix>.model``) on one sentence per line.

    Raises:
        ValueError: ``vocab_size`` is more than sentencepiece can make from ``text``.
    """
    import sentencepiece as spm

    try:
        _train_sentencepiece(spm, text, prefix, vocab_size, model_type, user_symbols)
    except RuntimeError as e:
        limit = re.search(
            r"Vocabulary size too high \(\d+\)\. Please set it to a value <= (\d+)",
            str(e),
        )
        if limit is None:
            raise
        raise ValueError(
            f"--nbpe {vocab_size} is too large for {text}: sentencepiece can make at "
            f"most {limit.group(1)} pieces from it; lower --nbpe or use more text"
        ) from None
    return prefix.with_suffix(".model")


def _train_sentencepiece(spm, text, prefix, vocab_size, model_type, symbols) -> None:
    extra = dict(user_defined_symbols=list(symbols)) if symbols else {}
    spm.SentencePieceTrainer.train(
        input=str(text),
        model_prefix=str(prefix),
        vocab_size=vocab_size,
        model_type=model_type,
        character_coverage=1.0,
        input_sentence_size=100_000_000,
        shuffle_input_sentence=True,
        bos_id=-1,
        eos_id=-1,
        unk_id=0,
        minloglevel=2,
        **extra,
    )


def write_token_list(
    text: Path,
    out: Path,
    token_type: str,
    bpemodel: Optional[Path] = None,
    nlsyms: Optional[Path] = None,
) -> List[str]:
    """ESPnet's token list of ``text`` (one sentence per line) via tokenize_text; the
    symbols listed in ``nlsyms`` stay whole tokens."""
    from espnet2.bin.tokenize_text import tokenize

    tokenize(
        input=str(text),
        output=str(out),
        field=None,
        delimiter=None,
        token_type=token_type,
        space_symbol="<space>",
        non_linguistic_symbols=None if nlsyms is None else str(nlsyms),
        bpemodel=None if bpemodel is None else str(bpemodel),
        log_level="WARNING",
        write_vocabulary=True,
        vocabulary_size=0,
        remove_non_linguistic_symbols=False,
        cutoff=0,
        add_symbol=list(SPECIAL),
        cleaner=None,
        g2p=None,
        add_nonsplit_symbol=[],
    )
    return out.read_text(encoding="utf-8").splitlines()


def build_tokens(
    text_file: Path,
    out_dir: Path,
    token_type: str,
    nbpe: int = 1000,
    model_type: str = "unigram",
    nlsyms: Optional[Path] = None,
) -> Path:
    """Builds the token list (and bpe model) of ``text_file``; returns tokens.txt.

    ``nlsyms`` (a file of non-linguistic symbols) is an input of the stamp: editing it
    rebuilds the tokens."""
    tokens = out_dir / "tokens.txt"
    options = dict(token_type=token_type)
    if token_type == "bpe":
        options.update(nbpe=nbpe, bpemode=model_type)
    inputs = [text_file] + ([nlsyms] if nlsyms is not None else [])
    stamp = make_stamp(inputs, options)
    check = check_stamp(out_dir / ".done", stamp)
    log_check(check, out_dir, "already has tokens", "building them again")
    if check.status == "done":
        return tokens
    out_dir.mkdir(parents=True, exist_ok=True)
    plain = out_dir / "train.txt"
    n = write_plain_text(text_file, plain)
    if n == 0:
        raise ValueError(f"{text_file} has no transcripts to build tokens from")
    bpemodel = None
    if token_type == "bpe":
        bpemodel = train_sentencepiece(
            plain, out_dir / "bpe", nbpe, model_type, read_nlsyms(nlsyms)
        )
    elif token_type != "char":
        raise ValueError(f"token_type must be 'bpe' or 'char'; got '{token_type}'")
    listed = write_token_list(plain, tokens, token_type, bpemodel, nlsyms)
    logging.info(f"{tokens}: {len(listed)} tokens from {n} lines")
    stamp.because = check.root
    write_stamp(out_dir / ".done", stamp)
    return tokens


def get_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--text", type=Path, required=True)
    parser.add_argument("--out_dir", type=Path, required=True)
    parser.add_argument("--token_type", choices=["bpe", "char"], default="bpe")
    parser.add_argument("--nbpe", type=int, default=1000)
    parser.add_argument("--bpemode", default="unigram", choices=["unigram", "bpe"])
    parser.add_argument(
        "--nlsyms_txt",
        type=Path,
        default=None,
        help="non-linguistic symbols, one a line",
    )
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = get_args(argv)
    setup_logging()
    build_tokens(
        args.text,
        args.out_dir,
        args.token_type,
        args.nbpe,
        args.bpemode,
        args.nlsyms_txt,
    )


if __name__ == "__main__":
    from espnet2_ext.utils.deps import run_cli

    run_cli(main, input_errors=True)
