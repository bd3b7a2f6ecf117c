import json
import logging

import pytest
import sacrebleu
from sacrebleu.metrics import BLEU, CHRF, TER

from espnet2_ext.scoring.result_io import write_result
from espnet2_ext.scoring.st import main, score_files, summarize
from espnet2_ext.scoring.text_norm import (
    collapse_whitespace,
    lowercase,
    normalize,
    remove_nonspeech_tags,
    unicode_nfc,
)

REFS = {
    "utt1": "Das ist ein kleiner Test für die Bewertung der Übersetzung.",
    "utt2": "Wir sehen uns morgen früh am alten Bahnhof in der Stadt.",
    "utt3": "(Applause) Vielen Dank, das war sehr schön!",
}
HYPS = {
    "utt1": "Das ist ein Test für die Bewertung von Übersetzungen.",
    "utt2": "Wir sehen uns morgen am alten Bahnhof.",
    "utt3": "vielen dank das war schön",
}


def write(path, mapping):
    path.write_text("".join(f"{k} {v}\n" for k, v in mapping.items()), "utf-8")
    return path


@pytest.fixture
def files(tmp_path):
    return write(tmp_path / "hyp", HYPS), write(tmp_path / "ref", REFS)


def test_reference_against_itself_is_perfect(tmp_path):
    ref = write(tmp_path / "ref", REFS)
    r = score_files(ref, ref)
    assert (r.bleu, r.chrf, r.ter) == (100.0, 100.0, 0.0)
    assert r.num_segments == 3 and r.num_empty_hyp == 0


def test_matches_sacrebleu_on_a_known_example(files):
    hyp, ref = files
    r = score_files(hyp, ref)
    hyps, refs = list(HYPS.values()), [list(REFS.values())]
    bleu, chrf, ter = BLEU(), CHRF(), TER(case_sensitive=True)
    assert r.bleu == round(bleu.corpus_score(hyps, refs).score, 4)
    assert r.chrf == round(chrf.corpus_score(hyps, refs).score, 4)
    assert r.ter == round(ter.corpus_score(hyps, refs).score, 4)
    assert r.bleu == round(sacrebleu.corpus_bleu(hyps, refs).score, 4)
    assert r.bleu_signature == str(bleu.get_signature())
    assert r.chrf_signature == str(chrf.get_signature())
    assert r.ter_signature == str(ter.get_signature())
    assert "case:mixed" in r.bleu_signature and "tok:13a" in r.bleu_signature
    assert 0 < r.bleu < 100 and 0 < r.ter


def _chrf_by_definition(hyps, refs, order=6, beta=2.0):
    """chrF (Popovic 2015) as sacreBLEU defines it: character n-grams without spaces,
    matches, hypothesis and reference counts summed over the corpus per order, the
    mean precision and recall over the orders, then the F-beta score."""
    from collections import Counter

    def grams(text, n):
        text = text.replace(" ", "")
        return Counter(text[i : i + n] for i in range(len(text) - n + 1))

    precisions, recalls = [], []
    for n in range(1, order + 1):
        match = hyp_count = ref_count = 0
        for h, r in zip(hyps, refs):
            hg, rg = grams(h, n), grams(r, n)
            match += sum((hg & rg).values())
            hyp_count += sum(hg.values())
            ref_count += sum(rg.values())
        precisions.append(match / hyp_count)
        recalls.append(match / ref_count)
    p, r = sum(precisions) / order, sum(recalls) / order
    return 100 * (1 + beta**2) * p * r / (beta**2 * p + r)


def test_bleu_and_chrf_by_hand_on_two_lines(tmp_path):
    hyps = {"u1": "the cat sat on the mat", "u2": "a dog runs away"}
    refs = {"u1": "the cat sat on the mat", "u2": "a dog ran away"}
    r = score_files(write(tmp_path / "hyp", hyps), write(tmp_path / "ref", refs))
    # n-gram matches / hypothesis n-grams over both lines (u1: all; u2 by hand):
    # 1: (6 + 3) / (6 + 4), 2: (5 + 1) / (5 + 3), 3: (4 + 0) / (4 + 2),
    # 4: (3 + 0) / (3 + 1); both sides have 10 words, so no brevity penalty.
    bleu = 100 * (9 / 10 * 6 / 8 * 4 / 6 * 3 / 4) ** (1 / 4)
    assert round(bleu, 4) == 76.2199
    assert r.bleu == round(bleu, 4)
    chrf = _chrf_by_definition(list(hyps.values()), list(refs.values()))
    assert r.chrf == round(chrf, 4) == 79.6661


def test_lc_lowercases_both_sides_and_changes_the_score(files):
    hyp, ref = files
    r = score_files(hyp, ref, case="lc")
    lc = BLEU(lowercase=True)
    low_h = [h.lower() for h in HYPS.values()]
    low_r = [[x.lower() for x in REFS.values()]]
    assert r.bleu == round(lc.corpus_score(low_h, low_r).score, 4)
    assert r.bleu > score_files(hyp, ref).bleu
    assert "case:lc" in r.bleu_signature and "case:lc" in r.ter_signature
    step = r.normalization[3]
    assert (step.step, step.enabled, step.hyp_changed, step.ref_changed) == (
        "lowercase",
        True,
        2,
        3,
    )


def test_tokenize_choice_reaches_sacrebleu(files):
    hyp, ref = files
    r = score_files(hyp, ref, tokenize="char")
    assert "tok:char" in r.bleu_signature
    char = BLEU(tokenize="char").corpus_score(
        list(HYPS.values()), [list(REFS.values())]
    )
    assert r.bleu == round(char.score, 4)
    with pytest.raises(ValueError, match="unknown tokenize 'nope'"):
        score_files(hyp, ref, tokenize="nope")


def test_normalisation_functions_exact_outputs():
    decomposed = "Cafe\u0301 Mu\u0308ller"
    assert unicode_nfc(decomposed) == "Café Müller"
    assert len(unicode_nfc(decomposed)) == len(decomposed) - 2
    assert collapse_whitespace("  a \t b\u00a0 c  \n") == "a b c"
    assert remove_nonspeech_tags("(Applause) Thank you. (Laughter)") == "Thank you."
    assert remove_nonspeech_tags("So (Applause ends) we go") == "So we go"
    # Not tags: lowercase parentheticals, numbers.
    assert remove_nonspeech_tags("a (in German) b (3)") == "a (in German) b (3)"
    assert lowercase("Über ALLES") == "über alles"


def test_normalize_order_and_counts(caplog):
    hyps = ["Cafe\u0301  ok", "(Laughter) Yes", "plain"]
    refs = ["Café ok", "(Laughter)  yes", "Plain "]
    with caplog.at_level(logging.INFO):
        h, r, steps = normalize(hyps, refs, case="cased", remove_tags=False)
    assert h == ["Café ok", "(Laughter) Yes", "plain"]
    assert r == ["Café ok", "(Laughter) yes", "Plain"]
    counts = [(s.step, s.enabled, s.hyp_changed, s.ref_changed) for s in steps]
    assert counts == [
        ("unicode_nfc", True, 1, 0),
        ("collapse_whitespace", True, 1, 2),
        ("remove_nonspeech_tags", False, 0, 0),
        ("lowercase", False, 0, 0),
    ]
    assert "collapse_whitespace: changed 1 hypothesis and 2 reference" in caplog.text

    h, r, steps = normalize(hyps, refs, case="lc", remove_tags=True)
    assert h == ["café ok", "yes", "plain"]
    assert r == ["café ok", "yes", "plain"]
    counts = [(s.step, s.hyp_changed, s.ref_changed) for s in steps]
    assert counts[2:] == [("remove_nonspeech_tags", 1, 1), ("lowercase", 2, 2)]


def test_tags_removed_only_with_the_flag(tmp_path):
    ref = write(tmp_path / "ref", {"u": "(Applause) Thank you very much indeed ."})
    hyp = write(tmp_path / "hyp", {"u": "Thank you very much indeed ."})
    kept = score_files(hyp, ref)
    removed = score_files(hyp, ref, remove_tags=True)
    assert kept.bleu < 100
    assert removed.bleu == 100.0
    assert removed.normalization[2].ref_changed == 1
    write_result(kept, tmp_path / "kept")
    text = (tmp_path / "kept" / "result.txt").read_text()
    assert "remove_nonspeech_tags: off (--remove_tags not given)" in text
    assert "MuST-C" in text


def test_mismatched_ids_name_file_and_id(tmp_path):
    ref = write(tmp_path / "ref", {"a": "x y", "b": "z", "c": "w"})
    hyp = write(tmp_path / "hyp", {"a": "x y", "c": "w"})
    with pytest.raises(ValueError) as e:
        score_files(hyp, ref)
    assert f"{hyp}: no hypothesis for 'b'" in str(e.value)
    extra = write(tmp_path / "hyp2", {"a": "x", "b": "z", "c": "w", "d": "v"})
    with pytest.raises(ValueError) as e:
        score_files(extra, ref)
    assert f"{ref}: no reference for 'd'" in str(e.value)


def test_invalid_utf8_in_a_hypothesis_names_file_and_line_in_one_line(tmp_path):
    from espnet2_ext.utils.deps import run_cli

    ref = write(tmp_path / "ref", REFS)
    hyp = tmp_path / "hyp"
    hyp.write_bytes(
        "".join(f"{k} {v}\n" for k, v in HYPS.items())
        .encode("utf-8")
        .replace("für".encode("utf-8"), "für".encode("latin-1"))
    )
    argv = ["--hyp", str(hyp), "--ref", str(ref), "--outdir", str(tmp_path / "s")]
    with pytest.raises(SystemExit) as e:
        run_cli(main, argv, input_errors=True)
    assert e.value.code == (
        f"espnet2_ext: error: {hyp}:1: not valid UTF-8 (byte 0xfc at column 24) -"
        " re-encode the file as UTF-8, e.g. iconv -f latin1 -t utf-8\n"
        "  (for the traceback, rerun with ESPNET2_EXT_VERBOSE=1)"
    )
    assert not (tmp_path / "s").exists()


def test_empty_hypothesis_is_counted(tmp_path):
    ref = write(tmp_path / "ref", REFS)
    (tmp_path / "hyp").write_text(
        f"utt1\nutt2 {HYPS['utt2']}\nutt3 {HYPS['utt3']}\n", "utf-8"
    )
    r = score_files(tmp_path / "hyp", ref)
    assert r.num_empty_hyp == 1
    hyps = ["", HYPS["utt2"], HYPS["utt3"]]
    assert r.bleu == round(sacrebleu.corpus_bleu(hyps, [list(REFS.values())]).score, 4)


def test_cli_writes_result_files_and_summary(files, tmp_path, capsys):
    hyp, ref = files
    out = tmp_path / "exp" / "st_a" / "decode_tst" / "score"
    main(["--hyp", str(hyp), "--ref", str(ref), "--outdir", str(out)])
    text = (out / "result.txt").read_text()
    data = json.loads((out / "result.json").read_text())
    assert text.splitlines()[0].startswith(f"BLEU = {data['bleu']:.2f}")
    assert "case: cased" in text
    assert "tokenisation: sacreBLEU '13a'" in text
    assert "detokenisation: none applied" in text
    assert data["bleu_signature"] in text and data["ter_signature"] in text
    assert "segments: 3 (0 empty hypotheses)" in text
    assert "  2. collapse_whitespace: hyp 0, ref 0" in text
    assert (data["case"], data["tokenize"], data["num_segments"]) == ("cased", "13a", 3)

    out_b = tmp_path / "exp" / "st_b" / "decode_tst" / "score"
    main(["--hyp", str(ref), "--ref", str(ref), "--outdir", str(out_b), "--case", "lc"])
    table = summarize([out / "result.json", out_b / "result.json"])
    b, c, t = data["bleu"], data["chrf"], data["ter"]
    assert table.splitlines() == [
        "| model/dir | BLEU | chrF | TER |",
        "|---|---|---|---|",
        f"| st_a/decode_tst | {b:.1f} | {c:.1f} | {t:.1f} |",
        "| st_b/decode_tst | 100.0 | 100.0 | 0.0 |",
    ]
    capsys.readouterr()
    main(["--summarize", str(out / "result.json"), str(out_b / "result.json")])
    assert capsys.readouterr().out == table
