"""ML-SUPERB scoring: per-language CER, its aggregates, LID and SUPERB_s, by hand."""

import json
import math

import pytest

from espnet2_ext.scoring.ml_superb import (
    NO_TAG,
    LanguageScore,
    SuperbScores,
    char_errors,
    main,
    normalized_score,
    score_files,
    score_utterances,
    scoring_form,
    superb_score,
    superb_score_by_track,
    utt2lang_from_ids,
)
from espnet2_ext.scoring.ml_superb_text import normalize_transcript

# Hand-counted fixture (scoring forms after the tags are removed):
#   fra  ds_fra_001  "AB CD" vs "AB CE"             1 error  / 5 chars
#   deu  ds_deu_001  "ABCDEFGHIJ" vs the same       0 errors / 10 chars
#        ds_deu_002  "KLMNOPQRST" vs "KLMNOPQRXY"   2 errors / 10 chars
#   cmn  ds_cmn_001  "你好世界" vs "你好世" (spaces dropped)  1 error / 4 chars
# CER: fra 20.0, deu 2/20 = 10.0, cmn 25.0
# macro = (20 + 10 + 25) / 3 = 55/3 = 18.333...; micro = 4 / 29 = 13.7931...
# LID: fra right, deu_001 right, deu_002 says fra (wrong), cmn no tag (wrong): 2/4
REFS = {
    "ds_fra_001": "[fra] AB CD",
    "ds_deu_001": "[deu] ABCDEFGHIJ",
    "ds_deu_002": "[deu] KLMNOPQRST",
    "ds_cmn_001": "[cmn] 你好 世界",
}
HYPS = {
    "ds_fra_001": "[fra] AB CE",
    "ds_deu_001": "[deu] ABCDEFGHIJ",
    "ds_deu_002": "[fra] KLMNOPQRXY",
    "ds_cmn_001": "你好 世",
}
LANGS = {u: u.split("_")[1] for u in REFS}


def write(path, mapping):
    path.write_text(
        "".join(f"{k} {v}\n" if v else f"{k}\n" for k, v in mapping.items()), "utf-8"
    )
    return path


@pytest.fixture
def scores():
    return score_utterances(REFS, HYPS, LANGS, lid=True)


def test_char_errors_count_the_space():
    assert char_errors("AB CD", "AB CE") == (1, 5)  # D->E; 5 chars with the space
    assert char_errors("AB CD", "ABCD") == (1, 5)  # the space deleted
    assert char_errors("AB", "") == (2, 2)
    assert char_errors("", "AB") == (2, 0)


def test_scoring_form_fra_removes_tag_then_punctuation():
    # tag gone, [noise] gone, ' and ? gone, upper case
    assert scoring_form("[fra] Où est l'étagère ? [noise]", "fra") == "OÙ EST LÉTAGÈRE"
    # tags first: the greedy bracket pattern alone would drop the whole line
    assert normalize_transcript("[fra] BONJOUR [deu]") == ""
    assert scoring_form("[fra] BONJOUR [deu]", "fra") == "BONJOUR"


def test_scoring_form_cmn_drops_spaces():
    assert scoring_form("[cmn] 你好 世界", "cmn") == "你好世界"
    assert scoring_form("[cmn] 你好 世界", "fra") == "你好 世界"


def test_per_language_counts_and_cer(scores):
    assert list(scores.languages) == ["cmn", "deu", "fra"]
    assert scores.languages["deu"] == LanguageScore("deu", 2, 2, 20)
    assert scores.languages["cmn"] == LanguageScore("cmn", 1, 1, 4)
    assert scores.cer_per_language == {"cmn": 25.0, "deu": 10.0, "fra": 20.0}


def test_macro_and_micro_cer_differ(scores):
    assert scores.macro_cer == pytest.approx(55 / 3)  # 18.333
    assert scores.micro_cer == pytest.approx(100 * 4 / 29)  # 13.793


def test_worst_cer(scores):
    assert scores.worst_cer(1) == pytest.approx(25.0)
    assert scores.worst_cer(2) == pytest.approx(22.5)  # (25 + 20) / 2
    assert scores.worst_cer() == pytest.approx(55 / 3)  # 15 > 3 languages: all
    with pytest.raises(ValueError, match="k >= 1"):
        scores.worst_cer(0)


def test_cer_std_is_population(scores):
    # deviations from 55/3: 5/3, -25/3, 20/3 -> squares 1050/9, / 3 languages
    assert scores.cer_std == pytest.approx(math.sqrt(1050 / 27))  # 6.2361


def test_lid_accuracy_with_wrong_and_missing_tag(scores):
    assert (scores.lid_correct, scores.lid_total) == (2, 4)
    assert scores.lid_accuracy == pytest.approx(50.0)
    assert scores.lid_confusions == {
        ("fra", "fra"): 1,
        ("deu", "deu"): 1,
        ("deu", "fra"): 1,
        ("cmn", NO_TAG): 1,
    }


def test_lid_uses_first_hypothesis_tag():
    refs, langs = {"a_fra_1": "[fra] A"}, {"a_fra_1": "fra"}
    assert score_utterances(refs, {"a_fra_1": "[fra] A [deu]"}, langs, True).lid_correct
    assert not score_utterances(
        refs, {"a_fra_1": "[deu] A [fra]"}, langs, True
    ).lid_correct


def test_no_lid_scoring():
    s = score_utterances(REFS, HYPS, LANGS)
    assert (s.lid_correct, s.lid_total, s.lid_accuracy) == (None, None, None)
    assert s.to_dict()["lid_accuracy"] is None


def test_to_dict(scores):
    d = scores.to_dict()
    assert d["macro_cer"] == 18.3333 and d["micro_cer"] == 13.7931
    assert (d["worst_cer"], d["worst_k"], d["cer_std"]) == (18.3333, 15, 6.2361)
    assert (d["lid_accuracy"], d["lid_correct"], d["lid_total"]) == (50.0, 2, 4)
    assert (d["utterances"], d["errors"], d["ref_chars"]) == (4, 4, 29)
    assert d["languages"]["fra"] == {
        "utterances": 1,
        "errors": 1,
        "ref_chars": 5,
        "cer": 20.0,
    }
    assert d["lid_confusions"]["deu"] == {"deu": 1, "fra": 1}
    json.dumps(d)


def test_errors_name_the_utterance():
    with pytest.raises(ValueError, match="no hypothesis for 'ds_cmn_001'"):
        score_utterances(REFS, {u: h for u, h in HYPS.items() if "cmn" not in u}, LANGS)
    with pytest.raises(ValueError, match="no reference for hypothesis 'x_fra_9'"):
        score_utterances(REFS, {**HYPS, "x_fra_9": "A"}, LANGS)
    with pytest.raises(ValueError, match="'a_fra_1' has 2 language tags"):
        score_utterances(
            {"a_fra_1": "[fra] A [deu]"}, {"a_fra_1": "A"}, {"a_fra_1": "fra"}, True
        )
    with pytest.raises(ValueError, match="no language for 'a_fra_1'"):
        score_utterances({"a_fra_1": "A"}, {"a_fra_1": "A"}, {})
    with pytest.raises(ValueError, match="language 'fra'"):
        score_utterances({"a_fra_1": "?!"}, {"a_fra_1": "A"}, {"a_fra_1": "fra"})
    with pytest.raises(ValueError, match="no language scored"):
        SuperbScores({}).macro_cer


def test_utt2lang_from_ids():
    assert utt2lang_from_ids(["fleurs_lit_000097", "google_i18n_eng_12"]) == {
        "fleurs_lit_000097": "lit",
        "google_i18n_eng_12": "eng",
    }
    for bad in ("utt1", "ds_FRA_001", "ds_fra_x1"):
        with pytest.raises(ValueError, match=f"'{bad}'"):
            utt2lang_from_ids([bad])


def test_score_files_with_utt2lang_and_empty_hypothesis(tmp_path):
    ref = write(tmp_path / "ref", {"u1": "AB CD", "u2": "ABCDE"})
    hyp = write(tmp_path / "hyp", {"u1": "AB CE", "u2": ""})  # u2: 5 deletions
    u2l = write(tmp_path / "utt2lang", {"u1": "fra", "u2": "deu"})
    s = score_files(hyp, ref, u2l, lid=False)
    assert s.cer_per_language == {"deu": 100.0, "fra": 20.0}  # 5/5, 1/5


def test_score_files_errors_name_file_and_line(tmp_path):
    ref = write(tmp_path / "ref", {"a_fra_1": "[fra] A", "a_fra_2": "[fra] B [deu]"})
    hyp = write(tmp_path / "hyp", {"a_fra_1": "A"})
    with pytest.raises(ValueError, match=f"{ref}:2: no hypothesis for 'a_fra_2'"):
        score_files(hyp, ref, None, False)
    write(hyp, {"a_fra_1": "A", "a_fra_2": "B", "a_fra_3": "C"})
    with pytest.raises(ValueError, match=f"{hyp}:3: no reference"):
        score_files(hyp, ref, None, False)
    write(hyp, {"a_fra_1": "A", "a_fra_2": "B"})
    with pytest.raises(ValueError, match=f"{ref}:2: reference of 'a_fra_2' has 2"):
        score_files(hyp, ref, None, True)
    write(ref, {"a_fra_1": "A", "utt2": "B"})
    with pytest.raises(ValueError, match=f"{ref}:2: utterance id 'utt2'"):
        score_files(hyp, ref, None, False)


def test_normalized_score():
    assert normalized_score(60, 80, 40) == pytest.approx(0.5)  # CER: -20 / -40
    assert normalized_score(70, 50, 90) == pytest.approx(0.5)  # LID: 20 / 40
    assert normalized_score(80, 80, 40) == 0.0  # the baseline itself
    assert normalized_score(30, 80, 40) == pytest.approx(1.25)  # beyond the best
    assert normalized_score(50, 60, 60) is None


def test_superb_score():
    # (0.5 + (90 - 50) / (90 - 50) = 1.0) / 2 * 1000 = 750
    assert superb_score({"cer": (60, 80, 40), "lid": (90, 50, 90)}) == pytest.approx(
        750.0
    )
    # lid has best == baseline: left out -> 1000 * 0.5
    assert superb_score({"cer": (60, 80, 40), "lid": (70, 70, 70)}) == pytest.approx(
        500.0
    )
    assert superb_score({"cer": (1, 2, 2)}) is None
    assert superb_score({}) is None


def test_superb_score_by_track_averages_tracks_first():
    per_track = {
        "t1": {"cer": (60, 80, 40), "lid": (90, 50, 90)},  # (0.5 + 1.0) / 2 = 0.75
        "t2": {"cer": (80, 80, 40)},  # 0.0
        "t3": {"cer": (5, 5, 5)},  # no defined term: not counted in T
    }
    # 1000 * (0.75 + 0.0) / 2 = 375 (a flat mean of the 3 terms would give 500)
    assert superb_score_by_track(per_track) == pytest.approx(375.0)
    assert superb_score_by_track({"t3": {"cer": (5, 5, 5)}}) is None
    assert superb_score_by_track({}) is None


def test_cli_writes_results(tmp_path, capsys):
    hyp, ref = write(tmp_path / "hyp", HYPS), write(tmp_path / "ref", REFS)
    out = tmp_path / "score"
    main(["--hyp", str(hyp), "--ref", str(ref), "--lid", "--outdir", str(out)])
    data = json.loads((out / "result.json").read_text("utf-8"))
    assert data["macro_cer"] == 18.3333  # 55/3
    assert data["lid_accuracy"] == 50.0
    lines = (out / "result.txt").read_text("utf-8").splitlines()
    assert lines[0].startswith("CER = 18.3 ")
    assert "LID accuracy = 50.0 (2 / 4 utterances)" in lines
    assert "cmn: CER = 25.0 (1 errors / 4 reference characters, 1 utterances)" in lines
    summary = capsys.readouterr().out.strip().splitlines()
    assert summary == [
        "CER 18.3 over 3 languages (micro 13.8, worst-15 18.3, std 6.2),"
        " LID accuracy 50.0"
    ]
