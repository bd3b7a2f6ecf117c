import os
import subprocess

import pytest

from espnet2_ext.fileio.kaldi_io import (
    format_kaldi_lines,
    read_kaldi_entries,
    read_kaldi_map,
    write_kaldi_map,
)


def test_read_keeps_order_values_and_empty_values(tmp_path):
    p = tmp_path / "text"
    p.write_text("b2 hello  big   world \nA1\na3 x\n", encoding="utf-8")
    m = read_kaldi_map(p)
    assert list(m) == ["b2", "A1", "a3"]
    assert m == {"b2": "hello  big   world", "A1": "", "a3": "x"}
    assert [e.lineno for e in read_kaldi_entries(p)] == [1, 2, 3]


@pytest.mark.parametrize(
    "content, where, what",
    [
        ("a x\n\nb y\n", ":2:", "no id"),
        ("a x\n  b y\n", ":2:", "no id"),
        ("a x\nb y\na z\n", ":3:", "duplicate id 'a' (first at line 1)"),
    ],
)
def test_read_malformed_names_path_and_line(tmp_path, content, where, what):
    p = tmp_path / "wav.scp"
    p.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError) as e:
        read_kaldi_map(p)
    assert f"{p}{where}" in str(e.value)
    assert what in str(e.value)


def test_write_sorts_like_c_locale_and_round_trips(tmp_path):
    mapping = {"b": "2", "B": "1", "a_1": "x y", "a-1": "", "ä": "u", "a": "z"}
    p = tmp_path / "utt2spk"
    write_kaldi_map(p, mapping)
    text = p.read_text(encoding="utf-8")
    assert text == "B 1\na z\na-1\na_1 x y\nb 2\nä u\n"
    assert read_kaldi_map(p) == mapping
    env = dict(os.environ, LC_ALL="C")
    sorted_by_sort = subprocess.run(
        ["sort"], input=text.encode(), capture_output=True, env=env, check=True
    ).stdout.decode()
    assert text == sorted_by_sort
    assert [f.name for f in tmp_path.iterdir()] == ["utt2spk"]  # no tmp left


def test_write_is_atomic_on_bad_input(tmp_path):
    p = tmp_path / "text"
    write_kaldi_map(p, {"a": "old"})
    with pytest.raises(ValueError, match="line break"):
        write_kaldi_map(p, {"a": "new", "b": "bad\nvalue"})
    with pytest.raises(ValueError, match="no whitespace"):
        format_kaldi_lines({"a b": "x"})
    assert p.read_text() == "a old\n"
    assert sorted(f.name for f in tmp_path.iterdir()) == ["text"]


def test_map_is_what_espnets_own_reader_reads(tmp_path):
    from espnet2.fileio.read_text import read_2columns_text

    path = tmp_path / "text"
    path.write_text("b  two  words \na\nc x\ty\n", encoding="utf-8")
    mapping = read_kaldi_map(path)
    assert mapping == read_2columns_text(path)
    assert mapping == {"b": "two  words", "a": "", "c": "x\ty"}
    assert list(mapping) == ["b", "a", "c"]  # file order
