"""ASR scoring: WER/CER with S/D/I counts on hand-counted examples."""

import json
import random

import editdistance
import pytest

from espnet2_ext.scoring.asr import (
    ErrorCounts,
    align_with_jiwer,
    chars,
    edit_counts,
    main,
    score_files,
    words,
)

# Hand-counted:
#   utt1 words: sat->sit (S), "the" deleted (D)           S1 D1 I0 of 6
#        chars: a->i (S), "the " deleted (4 D)            S1 D4 I0 of 22
#   utt2 empty hypothesis                                 D2 of 2 / D11 of 11
#   utt3 "to you" inserted                                I2 of 2 / I7 (" to you") of 12
# WER = 100 * (1 + 3 + 2) / 10 = 60; CER = 100 * (1 + 15 + 7) / 45 = 51.1111
REFS = {
    "utt1": "the cat sat on the mat",
    "utt2": "hello world",
    "utt3": "good morning",
}
HYPS = {
    "utt1": "the cat sit on mat",
    "utt2": "",
    "utt3": "good morning to you",
}


def write(path, mapping):
    path.write_text(
        "".join(f"{k} {v}\n" if v else f"{k}\n" for k, v in mapping.items()), "utf-8"
    )
    return path


@pytest.fixture
def files(tmp_path):
    return write(tmp_path / "hyp", HYPS), write(tmp_path / "ref", REFS)


def test_hand_counted_example(files):
    r = score_files(*files)
    assert (r.wer, r.cer) == (60.0, 51.1111)
    assert r.word == ErrorCounts(10, 9, 1, 3, 2)
    assert r.char == ErrorCounts(45, 37, 1, 15, 7)
    assert (r.num_segments, r.num_empty_hyp) == (3, 1)


def test_per_segment_counts():
    assert edit_counts(words(REFS["utt1"]), words(HYPS["utt1"])) == ErrorCounts(
        6, 5, 1, 1, 0
    )
    assert edit_counts(chars(REFS["utt1"]), chars(HYPS["utt1"])) == ErrorCounts(
        22, 18, 1, 4, 0
    )
    assert edit_counts(chars("ab"), chars("")) == ErrorCounts(2, 0, 0, 2, 0)
    assert edit_counts([], ["x"]) == ErrorCounts(0, 1, 0, 0, 1)
    assert chars("a b") == ["a", " ", "b"]


def test_ties_prefer_substitution_then_deletion():
    assert align_with_jiwer(["a", "b"], ["b", "c"]) == (2, 0, 0)
    assert align_with_jiwer(["a", "b"], ["c"]) == (1, 1, 0)
    assert align_with_jiwer(["a"], ["b", "a"]) == (0, 0, 1)
    # tokens are taken as given: jiwer does not split or strip them
    assert align_with_jiwer([" ", "a"], ["a"]) == (0, 1, 0)
    assert align_with_jiwer(["a b"], ["a", "b"]) == (1, 0, 1)


def test_alignment_agrees_with_editdistance_on_random_sequences():
    rng = random.Random(0)
    for _ in range(300):
        ref = [rng.choice("abc") for _ in range(rng.randint(0, 8))]
        hyp = [rng.choice("abc") for _ in range(rng.randint(0, 8))]
        s, d, i = align_with_jiwer(ref, hyp)
        assert s + d + i == editdistance.eval(ref, hyp), (ref, hyp)
        assert d - i == len(ref) - len(hyp), (ref, hyp)


def test_perfect_and_case(tmp_path):
    ref = write(tmp_path / "ref", {"a": "Hello World", "b": "yes"})
    hyp = write(tmp_path / "hyp", {"a": "hello   world", "b": "yes"})
    assert (score_files(ref, ref).wer, score_files(ref, ref).cer) == (0.0, 0.0)
    cased = score_files(hyp, ref)
    assert (cased.wer, cased.cer) == (66.6667, 14.2857)  # 2 of 3 words, 2 of 14 chars
    assert cased.normalization[1].hyp_changed == 1  # whitespace collapsed
    lc = score_files(hyp, ref, case="lc")
    assert (lc.wer, lc.cer) == (0.0, 0.0)
    assert (lc.normalization[3].hyp_changed, lc.normalization[3].ref_changed) == (0, 1)


def test_remove_tags(tmp_path):
    ref = write(tmp_path / "ref", {"a": "(Applause) thank you"})
    hyp = write(tmp_path / "hyp", {"a": "thank you"})
    assert score_files(hyp, ref).word == ErrorCounts(3, 2, 0, 1, 0)
    assert score_files(hyp, ref, remove_tags=True).wer == 0.0


def test_missing_and_extra_ids_name_file_and_line(tmp_path, files):
    _, ref = files
    missing = write(tmp_path / "hyp_missing", {"utt1": "x", "utt3": "y"})
    with pytest.raises(ValueError) as e:
        score_files(missing, ref)
    assert f"{missing}: no hypothesis for 'utt2' ({ref}:2;" in str(e.value)
    extra = write(tmp_path / "hyp_extra", {**HYPS, "utt9": "z"})
    with pytest.raises(ValueError) as e:
        score_files(extra, ref)
    assert f"{ref}: no reference for 'utt9' ({extra}:4;" in str(e.value)


def test_empty_references_are_an_error(tmp_path):
    ref = write(tmp_path / "ref", {"a": ""})
    with pytest.raises(ValueError, match="every reference is empty"):
        score_files(ref, ref)


def test_cli_writes_result_files(files, tmp_path, capsys):
    hyp, ref = files
    out = tmp_path / "score"
    main(["--hyp", str(hyp), "--ref", str(ref), "--outdir", str(out)])
    text = (out / "result.txt").read_text("utf-8")
    lines = text.splitlines()
    assert lines[0] == (
        "WER = 60.00 (6 errors / 10 reference words: 1 substitutions, 3 deletions,"
        " 2 insertions; 9 hypothesis words)"
    )
    assert lines[1].startswith("CER = 51.11 (23 errors / 45 reference characters:")
    assert "segments: 3 (1 empty hypotheses)" in text
    assert "  2. collapse_whitespace: hyp 0, ref 0" in text
    data = json.loads((out / "result.json").read_text("utf-8"))
    assert (data["wer"], data["cer"]) == (60.0, 51.1111)
    assert data["word"] == {
        "ref_tokens": 10,
        "hyp_tokens": 9,
        "substitutions": 1,
        "deletions": 3,
        "insertions": 2,
        "errors": 6,
    }
    assert data["char"]["errors"] == 23
    assert [s["step"] for s in data["normalization"]] == [
        "unicode_nfc",
        "collapse_whitespace",
        "remove_nonspeech_tags",
        "lowercase",
    ]
    assert capsys.readouterr().out == text
