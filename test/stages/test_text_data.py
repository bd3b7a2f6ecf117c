"""Text-only data dirs of mt.sh: format, filter, shape files, a given token list."""

import logging

import pytest

from espnet2_ext.fileio.data_checks import DataDirError
from espnet2_ext.stages.text_data import (
    append_vocab_size,
    check_token_list,
    filter_text_dir,
    format_text_dir,
    main,
)
from espnet2_ext.stages.tokens import build_tokens

NAMES = ["text.en", "text.de"]


def _write(d, name, text):
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_text(text, encoding="utf-8")


@pytest.fixture
def data(tmp_path):
    d = tmp_path / "data" / "train"
    _write(d, "text.en", "b good morning\na hello\nc thanks\n")
    _write(d, "text.de", "a hallo\nc danke\nb guten Morgen\n")
    return d


def test_format_sorts_the_files_and_skips_a_finished_dir(data, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    dst = tmp_path / "org" / "train"
    assert format_text_dir(data, dst, NAMES) == 3
    assert (dst / "text.en").read_text() == "a hello\nb good morning\nc thanks\n"
    assert (dst / "text.de").read_text() == "a hallo\nb guten Morgen\nc danke\n"
    assert (dst / ".done").is_file()
    assert format_text_dir(data, dst, NAMES) == 3
    assert f"{dst} already formatted - skipping" in caplog.text


def test_format_again_after_a_change_says_what_changed(data, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    dst = tmp_path / "org" / "train"
    format_text_dir(data, dst, NAMES)
    _write(data, "text.de", "a hallo\nb guten Tag\nc danke\n")
    format_text_dir(data, dst, NAMES)
    assert (
        f"{dst}: {data / 'text.de'} changed since it was made - formatting again"
        in caplog.text
    )
    assert "b guten Tag" in (dst / "text.de").read_text()


def test_format_lists_every_problem_and_writes_nothing(data, tmp_path):
    _write(data, "text.en", "a hello\nb good morning\nb again\nc thanks\n")
    (data / "text.de").write_bytes(b"a hallo\nd extra\nc \xfcber\n")
    dst = tmp_path / "org" / "train"
    with pytest.raises(DataDirError) as e:
        format_text_dir(data, dst, NAMES)
    en, de = data / "text.en", data / "text.de"
    assert e.value.problems == [
        f"{en}:3: duplicate id 'b' (first at line 2); ids must be unique - remove or"
        " rename one of them",
        f"{de}:3: not valid UTF-8 (byte 0xfc at column 3) - re-encode the file as"
        " UTF-8, e.g. iconv -f latin1 -t utf-8",
        f"{de}:2: no line for utterance 'b' (text.en:2; text.de has 3 lines, text.en"
        " 3) - add its transcript or remove it from text.en",
        f"{de}:2: id 'd' is not in text.en (text.de has 3 lines, text.en 3) - remove"
        " the line or add the utterance",
    ]
    assert not dst.exists()


def test_format_names_a_missing_or_empty_text_file(data, tmp_path):
    (data / "text.de").unlink()
    with pytest.raises(DataDirError) as e:
        format_text_dir(data, tmp_path / "dst", NAMES)
    assert e.value.problems == [
        f"{data / 'text.de'}: not found - local/data.sh must write it (one"
        " '<utt> <text>' line per utterance)"
    ]
    _write(data, "text.en", "")
    with pytest.raises(DataDirError, match="empty - no utterances"):
        format_text_dir(data, tmp_path / "dst", ["text.en"])


def test_filter_drops_utterances_empty_on_either_side(data, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    _write(data, "text.en", "a hello\nb good morning\nc\n")
    _write(data, "text.de", "a hallo\nb \nc danke\n")
    org, dst = tmp_path / "org", tmp_path / "dst"
    format_text_dir(data, org, NAMES)
    assert filter_text_dir(org, dst, NAMES) == 1
    assert (dst / "text.en").read_text() == "a hello\n"
    assert (dst / "text.de").read_text() == "a hallo\n"
    assert f"{dst}: kept 1 of 3 utterances (dropped: 2 with an empty text)" in (
        caplog.text
    )
    filter_text_dir(org, dst, NAMES)
    assert f"{dst} already filtered - skipping" in caplog.text


def test_filter_refuses_to_keep_nothing(data, tmp_path):
    _write(data, "text.de", "a\nb\nc\n")
    with pytest.raises(ValueError, match="all 3 utterances have an empty text"):
        filter_text_dir(data, tmp_path / "dst", NAMES)


def test_the_cli_stops_with_the_problems_and_their_count(data, tmp_path, caplog):
    _write(data, "text.de", "a hallo\nb guten Morgen\n")
    with pytest.raises(SystemExit) as e:
        main(
            ["format", str(data), str(tmp_path / "dst"), "--text", "text.en"]
            + ["--text", "text.de"]
        )
    assert str(e.value) == f"{data}: 1 problem(s), nothing formatted"
    assert "no line for utterance 'c'" in caplog.text


def test_shape_files_get_the_vocabulary_size(tmp_path):
    shape = tmp_path / "text_shape"
    shape.write_text("b 7\na 12\n")
    tokens = tmp_path / "tokens.txt"
    tokens.write_text("<blank>\n<unk>\nx\n<sos/eos>\n")
    assert append_vocab_size(shape, tokens, tmp_path / "text_shape.char") == 2
    assert (tmp_path / "text_shape.char").read_text() == "a 12,4\nb 7,4\n"


@pytest.fixture
def bpe_tokens(tmp_path):
    text = tmp_path / "text.en"
    lines = ["hello world", "the world says hello", "hello again", "say it again"]
    text.write_text("".join(f"u{i} {t}\n" for i, t in enumerate(lines)))
    out = build_tokens(text, tmp_path / "bpe", "bpe", nbpe=20)
    return out, out.parent / "bpe.model"


def test_a_given_bpe_list_and_its_model_pass(bpe_tokens):
    tokens, model = bpe_tokens
    listed = check_token_list(tokens, "bpe", model)
    assert listed[:2] == ["<blank>", "<unk>"] and listed[-1] == "<sos/eos>"


def test_a_list_made_with_another_model_is_refused(bpe_tokens, tmp_path):
    tokens, model = bpe_tokens
    other = tmp_path / "other.txt"
    other.write_text("<blank>\n<unk>\n▁hello\n▁zebra\n<sos/eos>\n")
    with pytest.raises(ValueError) as e:
        check_token_list(other, "bpe", model)
    assert str(e.value).startswith(
        f"{other}:4: token '▁zebra' is not a piece of {model} (1 of 5 tokens are not)"
    )


@pytest.mark.parametrize(
    "content, message",
    [
        ("<blank>\n<unk>\n▁a\t-1.5\n<sos/eos>\n", ":3: '▁a\\t-1.5' is not one token"),
        ("<blank>\n<unk>\na\na\n<sos/eos>\n", ":4: token 'a' again (first at line 3)"),
        ("<blank>\n<unk>\na\n", ": not ESPnet's token list layout"),
        ("<blank>\na\n<sos/eos>\n", ": not ESPnet's token list layout"),
        ("<blank>\n\n<unk>\n<sos/eos>\n", ":2: '' is not one token"),
    ],
)
def test_a_malformed_token_list_is_named(tmp_path, content, message):
    path = tmp_path / "tokens.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError) as e:
        check_token_list(path, "char")
    assert str(e.value).startswith(f"{path}{message}")


def test_token_type_and_model_must_agree(bpe_tokens, tmp_path):
    tokens, model = bpe_tokens
    with pytest.raises(ValueError, match="needs its sentencepiece model"):
        check_token_list(tokens, "bpe")
    with pytest.raises(ValueError, match="is for token type bpe, not 'char'"):
        check_token_list(tokens, "char", model)
    with pytest.raises(ValueError, match="cannot be read"):
        check_token_list(tmp_path / "missing.txt", "char")
    (tmp_path / "fake.model").write_text("not a model")
    with pytest.raises(ValueError, match="not a sentencepiece model"):
        check_token_list(tokens, "bpe", tmp_path / "fake.model")
