"""Splitting key files for parallel jobs and merging their outputs."""

import pytest

from espnet2_ext.stages.split import merge_outputs, split_lines, split_scp


def test_split_lines_is_contiguous_and_balanced():
    parts = split_lines([str(i) for i in range(10)], 4)
    assert parts == [["0", "1", "2"], ["3", "4", "5"], ["6", "7"], ["8", "9"]]
    assert split_lines(["a", "b"], 5) == [["a"], ["b"]]  # never an empty part


def test_split_scp_removes_stale_parts(tmp_path):
    scp = tmp_path / "wav.scp"
    scp.write_text("u1 a.wav\nu2 b.wav\nu3 c.wav\n")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keys.9.scp").write_text("stale\n")
    assert split_scp(scp, 2, tmp_path / "out") == 2
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "keys.1.scp", "keys.2.scp",
    ]  # fmt: skip
    assert (tmp_path / "out" / "keys.1.scp").read_text() == "u1 a.wav\nu2 b.wav\n"


def test_merge_sorts_by_id_and_names_the_missing_job(tmp_path):
    for i, text in [(1, "u3 c\nu1 a\n"), (2, "u2 b\n")]:
        (tmp_path / f"output.{i}" / "1best_recog").mkdir(parents=True)
        (tmp_path / f"output.{i}" / "1best_recog" / "text").write_text(text)
    out = tmp_path / "text"
    assert merge_outputs(tmp_path, 2, "1best_recog/text", out) == 3
    assert out.read_text() == "u1 a\nu2 b\nu3 c\n"
    with pytest.raises(FileNotFoundError, match="job 3 wrote no"):
        merge_outputs(tmp_path, 3, "1best_recog/text", out)
