"""Text-only data dirs for ``mt1/mt.sh``: format (stage 2), filter (stage 3), the
check of a given token list (stage 4) and shape files (stage 9).

An MT data dir holds Kaldi text files only, ``text.<src_lang>`` and
``text.<tgt_lang>`` (``<utt> <text>`` per line); there is no ``wav.scp``. The first
``--text`` file (the source) names the utterances.

- ``format SRC DST --text text.en --text text.de``: checks every file (UTF-8, one
  ``<id> <value>`` per line, no duplicate ids; the other files have exactly the ids of
  the first) and writes them to ``DST`` sorted by id. Every problem is listed at once
  (up to 20, then a count), each as ``path:line: what is wrong - what to do``, and
  nothing is written.
- ``filter SRC DST --text ...``: drops the utterances whose text is empty in any of
  the files, logging how many.
- ``shape --shape_file F --token_list T --out O``: ``F`` (a shape file of
  collect_stats, ``<utt> <length>``) with the vocabulary size appended,
  ``<utt> <length>,<V>``, as ESPnet's ``mt.sh`` writes ``text_shape.<token_type>``.
- ``check_tokens --token_list T --token_type bpe|char [--bpemodel M]``: a token list
  given to the driver instead of made in stage 4 (e.g. an ASR's, for a cascade) must
  be ESPnet's layout (one token a line, no duplicates, ``<unk>`` in it, ``<sos/eos>``
  last); with a sentencepiece model, every token but the special ones must be one of
  its pieces (else the list was made with another model).

``format`` and ``filter`` write ``DST/.done`` last, recording what the output was made
from (:mod:`espnet2_ext.fileio.stamp`): a re-run with the same inputs is skipped, one
with changed inputs is redone, saying what changed.

Usage::

    python -m espnet2_ext.stages.text_data format data/train dump/raw/org/train \\
        --text text.en --text text.de
    python -m espnet2_ext.stages.text_data filter dump/raw/org/train dump/raw/train \\
        --text text.en --text text.de
    python -m espnet2_ext.stages.text_data shape --token_list T/tokens.txt \\
        --shape_file S/train/text_shape --out S/train/text_shape.bpe
    python -m espnet2_ext.stages.text_data check_tokens --token_type bpe \\
        --token_list data/token_list/bpe_unigram1000_en/tokens.txt \\
        --bpemodel data/token_list/bpe_unigram1000_en/bpe.model
"""

import argparse
import logging
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from espnet2_ext.fileio.data_checks import DataDirError, check_text_ids
from espnet2_ext.fileio.kaldi_io import (
    read_kaldi_map,
    scan_kaldi_entries,
    write_kaldi_map,
)
from espnet2_ext.fileio.stamp import check_stamp, log_check, make_stamp, write_stamp
from espnet2_ext.utils.log import setup_logging

#: Tokens of an ESPnet token list that are not text pieces.
SPECIAL_TOKENS = ("<blank>", "<unk>", "<sos/eos>", "<space>")


def check_text_files(src: Path, names: Sequence[str]) -> List[str]:
    """Problems of the text files ``names`` of ``src`` (see the module docstring).

    Returns:
        Every problem found; the first file's ids are the utterances.
    """
    if not names:
        raise ValueError("give at least one --text file")
    problems = []
    missing = [n for n in names if not (src / n).is_file()]
    for name in missing:
        problems.append(
            f"{src / name}: not found - local/data.sh must write it (one"
            " '<utt> <text>' line per utterance)"
        )
    if missing:
        return problems
    utts, problems = scan_kaldi_entries(src / names[0])
    if not utts and not problems:
        return [f"{src / names[0]}: empty - no utterances"]
    for name in names[1:]:
        entries, file_problems = scan_kaldi_entries(src / name)
        problems += file_problems
        problems += check_text_ids(utts, src / names[0], src / name, entries)
    return problems


def _stamped(src: Path, dst: Path, names: Sequence[str], done: str, redo: str):
    """The stamp of ``dst``'s current inputs and its check, logged with ``done``
    ("already formatted") or ``redo`` ("formatting again")."""
    inputs = [src / n for n in (".done", *names) if (src / n).is_file()]
    stamp = make_stamp(inputs, dict(text=" ".join(names)))
    check = check_stamp(dst / ".done", stamp)
    log_check(check, dst, done, redo)
    return stamp, check


def format_text_dir(src: Path, dst: Path, names: Sequence[str]) -> int:
    """Checks the text files of ``src`` and writes them, sorted, to ``dst``.

    Returns:
        The number of utterances.

    Raises:
        DataDirError: (a ValueError) listing every problem; nothing is written.
    """
    src, dst = Path(src), Path(dst)
    problems = check_text_files(src, names)
    if problems:
        raise DataDirError(src, problems)
    stamp, check = _stamped(src, dst, names, "already formatted", "formatting again")
    if check.status == "done":
        return len(read_kaldi_map(dst / names[0]))
    texts = {name: read_kaldi_map(src / name) for name in names}
    dst.mkdir(parents=True, exist_ok=True)
    for name, mapping in texts.items():
        write_kaldi_map(dst / name, mapping)
    n = len(texts[names[0]])
    logging.info(f"{dst}: {n} utterances ({', '.join(names)})")
    stamp.because = check.root
    write_stamp(dst / ".done", stamp)
    return n


def select_nonempty(texts: Dict[str, Dict[str, str]]) -> List[str]:
    """Ids (in the first file's order) whose text is non-empty in every file."""
    first = next(iter(texts.values()))
    return [u for u in first if all(t[u].strip() for t in texts.values())]


def filter_text_dir(src: Path, dst: Path, names: Sequence[str]) -> int:
    """Writes ``src`` to ``dst`` without the utterances empty in any text file.

    Returns:
        The number of utterances kept.

    Raises:
        DataDirError: the files of ``src`` do not agree (a hand-made dir).
        ValueError: no utterance is left.
    """
    src, dst = Path(src), Path(dst)
    problems = check_text_files(src, names)
    if problems:
        raise DataDirError(src, problems)
    stamp, check = _stamped(src, dst, names, "already filtered", "filtering again")
    if check.status == "done":
        return len(read_kaldi_map(dst / names[0]))
    texts = {name: read_kaldi_map(src / name) for name in names}
    keep = select_nonempty(texts)
    total = len(texts[names[0]])
    if not keep:
        raise ValueError(
            f"{src}: all {total} utterances have an empty text in"
            f" {' or '.join(names)} - nothing to keep"
        )
    dst.mkdir(parents=True, exist_ok=True)
    for name, mapping in texts.items():
        write_kaldi_map(dst / name, {u: mapping[u] for u in keep})
    logging.info(
        f"{dst}: kept {len(keep)} of {total} utterances (dropped: "
        f"{total - len(keep)} with an empty text)"
    )
    stamp.because = check.root
    write_stamp(dst / ".done", stamp)
    return len(keep)


def check_token_list(
    token_list: Path, token_type: str, bpemodel: Optional[Path] = None
) -> List[str]:
    """Checks a given token list (and its sentencepiece model); returns the tokens.

    Raises:
        ValueError: naming the file (and line) of the first problem.
    """
    token_list = Path(token_list)
    if token_type == "bpe" and bpemodel is None:
        raise ValueError(
            f"{token_list}: a bpe token list needs its sentencepiece model - give"
            " --src_bpemodel (the bpe.model next to the list)"
        )
    if token_type != "bpe" and bpemodel is not None:
        raise ValueError(
            f"{bpemodel}: a sentencepiece model is for token type bpe, not"
            f" '{token_type}' - set --src_token_type bpe or drop --src_bpemodel"
        )
    try:
        lines = token_list.read_bytes().decode("utf-8").splitlines()
    except OSError as e:
        raise ValueError(f"{token_list}: cannot be read ({e.strerror})") from None
    except UnicodeDecodeError:
        raise ValueError(f"{token_list}: not UTF-8 - not a token list") from None
    seen: Dict[str, int] = {}
    for lineno, token in enumerate(lines, start=1):
        if not token or token != token.strip() or len(token.split()) != 1:
            raise ValueError(
                f"{token_list}:{lineno}: {token!r} is not one token - a token list"
                " has one token a line (a sentencepiece .vocab file is not one: give"
                " the tokens.txt made with it)"
            )
        if token in seen:
            raise ValueError(
                f"{token_list}:{lineno}: token {token!r} again (first at line"
                f" {seen[token]}) - tokens must be unique"
            )
        seen[token] = lineno
    if "<unk>" not in seen or not lines or lines[-1] != "<sos/eos>":
        raise ValueError(
            f"{token_list}: not ESPnet's token list layout (<blank>, <unk>, ...,"
            " <sos/eos> last) - give the tokens.txt of an ESPnet recipe"
        )
    if bpemodel is not None:
        _check_pieces(lines, token_list, Path(bpemodel))
    return lines


def _check_pieces(tokens: List[str], token_list: Path, bpemodel: Path) -> None:
    import sentencepiece as spm

    if not bpemodel.is_file():
        raise ValueError(f"{bpemodel}: not found - give the sentencepiece model")
    sp = spm.SentencePieceProcessor()
    try:
        sp.load(str(bpemodel))
    except (OSError, RuntimeError):
        raise ValueError(
            f"{bpemodel}: not a sentencepiece model - give the bpe.model the token"
            " list was made with"
        ) from None
    pieces = {sp.id_to_piece(i) for i in range(sp.get_piece_size())}
    foreign = [t for t in tokens if t not in pieces and t not in SPECIAL_TOKENS]
    if foreign:
        raise ValueError(
            f"{token_list}:{tokens.index(foreign[0]) + 1}: token {foreign[0]!r} is"
            f" not a piece of {bpemodel} ({len(foreign)} of {len(tokens)} tokens are"
            " not) - give the token list and the model made together"
        )


def append_vocab_size(shape_file: Path, token_list: Path, out: Path) -> int:
    """Writes ``shape_file`` (``<utt> <length>`` lines of collect_stats) with the
    vocabulary size of ``token_list`` appended to each shape (``<utt> <length>,<V>``),
    as ESPnet's ``mt.sh`` writes ``text_shape.<token_type>`` for ``batch_type: numel``
    (whose ``batch_bins`` then count length x vocabulary). Returns the line count."""
    vocab = len(Path(token_list).read_text(encoding="utf-8").splitlines())
    shapes = read_kaldi_map(shape_file)
    write_kaldi_map(out, {u: f"{shape},{vocab}" for u, shape in shapes.items()})
    return len(shapes)


def get_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="action", required=True)
    for action in ("format", "filter"):
        p = sub.add_parser(action)
        p.add_argument("src", type=Path)
        p.add_argument("dst", type=Path)
        p.add_argument("--text", action="append", default=[], required=True)
    p = sub.add_parser("check_tokens")
    p.add_argument("--token_list", type=Path, required=True)
    p.add_argument("--token_type", choices=["bpe", "char"], required=True)
    p.add_argument("--bpemodel", type=Path, default=None)
    p = sub.add_parser("shape")
    p.add_argument("--shape_file", type=Path, required=True)
    p.add_argument("--token_list", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = get_args(argv)
    setup_logging()
    if args.action == "check_tokens":
        tokens = check_token_list(args.token_list, args.token_type, args.bpemodel)
        logging.info(f"{args.token_list}: {len(tokens)} tokens ({args.token_type})")
        return
    if args.action == "shape":
        append_vocab_size(args.shape_file, args.token_list, args.out)
        return
    run = format_text_dir if args.action == "format" else filter_text_dir
    try:
        run(args.src, args.dst, args.text)
    except DataDirError as e:
        logging.error(str(e))
        what = "formatted" if args.action == "format" else "filtered"
        sys.exit(f"{args.src}: {len(e.problems)} problem(s), nothing {what}")


if __name__ == "__main__":
    from espnet2_ext.utils.deps import run_cli

    run_cli(main, input_errors=True)
