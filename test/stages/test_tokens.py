"""Stage 5: sentencepiece models and ESPnet token lists."""

import logging

import pytest
import sentencepiece as spm

from espnet2_ext.stages import tokens

TEXT = [
    "utt1 hello world",
    "utt2 the world says hello",
    "utt3 hello again",
]


@pytest.fixture
def text_file(tmp_path):
    path = tmp_path / "text.en"
    path.write_text("".join(line + "\n" for line in TEXT), encoding="utf-8")
    return path


def test_char_list_is_espnets_layout(text_file, tmp_path):
    out = tmp_path / "char"
    listed = tokens.build_tokens(text_file, out, "char")
    assert listed == out / "tokens.txt"
    lines = listed.read_text(encoding="utf-8").splitlines()
    chars = set("".join(line.split(" ", 1)[1] for line in TEXT).replace(" ", ""))
    assert lines[:2] == ["<blank>", "<unk>"]
    assert lines[-1] == "<sos/eos>"
    assert set(lines[2:-1]) == chars | {"<space>"}
    assert (out / "train.txt").read_text(encoding="utf-8").splitlines() == [
        "hello world",
        "the world says hello",
        "hello again",
    ]
    assert not (out / "bpe.model").exists()


def test_bpe_model_and_list_agree(text_file, tmp_path):
    out = tmp_path / "bpe"
    listed = tokens.build_tokens(text_file, out, "bpe", nbpe=16)
    sp = spm.SentencePieceProcessor(model_file=str(out / "bpe.model"))
    assert sp.get_piece_size() == 16
    lines = listed.read_text(encoding="utf-8").splitlines()
    assert lines[:2] == ["<blank>", "<unk>"] and lines[-1] == "<sos/eos>"
    # Every piece the model produces on its training text is in the list.
    pieces = {
        p for line in TEXT for p in sp.encode(line.split(" ", 1)[1], out_type=str)
    }
    assert pieces <= set(lines)


def test_finished_dir_is_skipped(text_file, tmp_path, caplog):
    out = tmp_path / "char"
    tokens.build_tokens(text_file, out, "char")
    (out / "tokens.txt").write_text("kept\n", encoding="utf-8")
    with caplog.at_level(logging.INFO):
        tokens.build_tokens(text_file, out, "char")
    assert "already has tokens - skipping" in caplog.text
    assert (out / "tokens.txt").read_text(encoding="utf-8") == "kept\n"


def test_empty_text_and_unknown_type_are_errors(tmp_path, text_file):
    empty = tmp_path / "empty"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(ValueError, match="empty has no transcripts"):
        tokens.build_tokens(empty, tmp_path / "e", "char")
    with pytest.raises(
        ValueError, match="token_type must be 'bpe' or 'char'; got 'word'"
    ):
        tokens.build_tokens(text_file, tmp_path / "w", "word")
    assert not (tmp_path / "w" / ".done").exists()


def test_too_many_pieces_for_the_text_says_how_many_fit(text_file, tmp_path):
    with pytest.raises(ValueError) as err:
        tokens.build_tokens(text_file, tmp_path / "bpe", "bpe", nbpe=1000)
    assert str(err.value) == (
        f"--nbpe 1000 is too large for {tmp_path / 'bpe' / 'train.txt'}: sentencepiece "
        "can make at most 19 pieces from it; lower --nbpe or use more text"
    )
    assert not (tmp_path / "bpe" / ".done").exists()


def test_language_tags_stay_one_char_token_and_are_a_stamp_input(tmp_path, caplog):
    text = tmp_path / "text"
    text.write_text("u1 [fra] AB\nu2 [deu] BA A\n", encoding="utf-8")
    nlsyms = tmp_path / "nlsyms.txt"
    nlsyms.write_text("[deu]\n[fra]\n", encoding="utf-8")
    out = tmp_path / "char"
    listed = tokens.build_tokens(text, out, "char", nlsyms=nlsyms)
    lines = listed.read_text(encoding="utf-8").splitlines()
    # no "[", "f", "r" ... characters: each tag is one token
    assert lines[:2] == ["<blank>", "<unk>"] and lines[-1] == "<sos/eos>"
    assert set(lines[2:-1]) == {"[fra]", "[deu]", "A", "B", "<space>"}
    nlsyms.write_text("[deu]\n[fra]\n[spa]\n", encoding="utf-8")
    with caplog.at_level(logging.INFO):
        tokens.build_tokens(text, out, "char", nlsyms=nlsyms)
    assert "nlsyms.txt changed" in caplog.text


def test_language_tags_are_sentencepiece_user_symbols(tmp_path):
    text = tmp_path / "text"
    text.write_text(
        "".join(f"u{i} [fra] bonjour le monde {i}\n" for i in range(20)),
        encoding="utf-8",
    )
    nlsyms = tmp_path / "nlsyms.txt"
    nlsyms.write_text("[fra]\n", encoding="utf-8")
    out = tmp_path / "bpe"
    tokens.build_tokens(text, out, "bpe", nbpe=24, nlsyms=nlsyms)
    sp = spm.SentencePieceProcessor(model_file=str(out / "bpe.model"))
    assert "[fra]" in sp.encode("[fra] bonjour", out_type=str)
