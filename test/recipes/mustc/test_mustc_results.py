"""The MuST-C results script: experiments from real ESPnet reporter checkpoints, the
published numbers beside them, ESPnet's RESULTS.md."""

import csv

import pytest
from fake_experiments import fake_experiment

from espnet2_ext.recipes.mustc import published
from espnet2_ext.recipes.mustc import results as mustc_results

SIG = "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0"
DETAILS = "58.0/31.0/19.0/12.0 (BP = 0.950 ratio = 0.951 hyp_len = 100 ref_len = 105)"


def _scores(bleu, chrf, signature=SIG):
    return {
        "bleu": bleu,
        "chrf": chrf,
        "ter": 60.0,
        "bleu_signature": signature,
        "bleu_details": f"BLEU = {bleu:.2f} {DETAILS}",
    }


def _exp_dir(tmp_path):
    """Two target languages: per language an FBank-only reference and GSGN+Drop;
    an unscored GSGN, a dir whose training has not started, ASR-init rows."""
    exp = tmp_path / "exp"
    # best 3 (nbest=3): 0.64 (6), 0.63 (5), 0.62 (4) -> conv. epoch 6 of 8
    fake_experiment(
        exp / "st_fbank_only_de_bpe8000",
        [0.2, 0.4, 0.5, 0.62, 0.63, 0.64, 0.55, 0.5],
        scores={
            "tst-COMMON.en-de": _scores(24.61, 53.27),
            "tst-HE.en-de": _scores(20.04, 48.52),
        },
        nbest=3,
    )
    # best 3: 0.7 (4), 0.65 (3), 0.6 (2; of the tie with 5 the earlier) -> 4 of 6
    fake_experiment(
        exp / "st_gsgn_drop_de_bpe8000",
        [0.3, 0.6, 0.65, 0.7, 0.6, 0.5],
        scores={"tst-COMMON.en-de": _scores(25.12, 54.06)},
        nbest=3,
    )
    # trained 2 epochs, not decoded yet: best at its last epoch (≥2)
    fake_experiment(exp / "st_gsgn_de_bpe8000", [0.1, 0.2], nbest=3)
    (exp / "st_concat_de_bpe8000").mkdir()  # training not started
    # fr: both still improving at their last epoch, so no speed-up
    fake_experiment(
        exp / "st_fbank_only_fr_bpe8000",
        [0.2, 0.5, 0.6],
        scores={"tst-COMMON.en-fr": _scores(35.0, 60.0)},
        nbest=3,
    )
    fake_experiment(
        exp / "st_gsgn_drop_fr_bpe8000",
        [0.3, 0.6, 0.5, 0.4],
        scores={"tst-COMMON.en-fr": _scores(34.24, 59.91)},
        nbest=3,
    )
    # ASR-init: no fbank_only_asrinit to compare with
    fake_experiment(
        exp / "st_gsgn_drop_asrinit_de_bpe8000",
        [0.5, 0.7, 0.6],
        scores={"tst-COMMON.en-de": _scores(27.5, 56.0)},
        nbest=1,
    )
    fake_experiment(
        exp / "st_espnet_conformer_asrinit_de_bpe8000",
        [0.5, 0.6],
        scores={"tst-COMMON.en-de": _scores(24.0, 52.0)},
        nbest=1,
    )
    (exp / "st_stats_en_de_bpe8000").mkdir()  # the shared stats dir: not a model
    fake_experiment(exp / "st_gsgn_de_bpe8000.old-20260101-000000", [0.1])
    return exp


FIXED_ENV = {
    "date": "2026-05-14T09:03:07+00:00",
    "python": "3.12.3 (main) [GCC 13.2.0]",
    "torch": "2.11.0",
    "torchaudio": "2.11.0",
    "espnet": "202611",
    "s3prl": "2026.5.14 (espnet-s3prl)",
    "sacrebleu": "2.6.0",
    "espnet2_ext": "0.1.0",
    "git hash": "0123abc",
    "git tree": "dirty",
    "commit date": "Wed May 13 10:00:00 2026 +0200",
    "gpu": "none",
}

HEADER = (
    "| experiment | row | target | tst-COMMON BLEU | tst-COMMON chrF | tst-HE BLEU "
    "| tst-HE chrF | epochs | conv. epoch | speed-up | paper tst-COMMON BLEU "
    "| paper conv. epoch | ESPnet tst-COMMON BLEU | status |"
)


def test_cli_writes_table_csv_environment_and_espnet_results(
    tmp_path, capsys, monkeypatch
):
    exp = _exp_dir(tmp_path)
    monkeypatch.setattr(mustc_results, "environment", lambda: dict(FIXED_ENV))
    out = tmp_path / "exp" / "results"
    mustc_results.main(
        ["--exp_dir", str(exp), "--sets", "tst-COMMON.en-de", "tst-HE.en-de"]
        + ["--out", str(out)]
    )
    text = (tmp_path / "exp" / "results.md").read_text(encoding="utf-8")
    assert text in capsys.readouterr().out
    lines = text.splitlines()
    assert lines[:3] == ["# MuST-C results", "", HEADER]
    assert lines[4:12] == [
        "| st_fbank_only_de_bpe8000 | fbank_only | de | 24.6 | 53.3 | 20.0 | 48.5 | 8 "
        "| 6 | ref | 25.08 | 40 |  | scored |",
        "| st_concat_de_bpe8000 | concat | de | - | - | - | - | - | - | - | 23.8 | 32 "
        "|  | not scored |",
        "| st_gsgn_de_bpe8000 | gsgn | de | - | - | - | - | 2 | ≥2 | - | 24.18 | 28 "
        "|  | not scored |",
        # 6 / 4 epochs; the paper's 25.26 at epoch 30 beside it
        "| st_gsgn_drop_de_bpe8000 | gsgn_drop | de | 25.1 | 54.1 | - | - | 6 | 4 "
        "| 1.50x | 25.26 | 30 |  | not scored: tst-HE |",
        "| st_gsgn_drop_asrinit_de_bpe8000 | gsgn_drop_asrinit | de | 27.5 | 56.0 | - "
        "| - | 3 | 2 | - | 28.19 | 27 |  | not scored: tst-HE |",
        "| st_espnet_conformer_asrinit_de_bpe8000 | espnet_conformer_asrinit | de "
        "| 24.0 | 52.0 | - | - | 2 | ≥2 | - |  |  | 25.7 | not scored: tst-HE |",
        "| st_fbank_only_fr_bpe8000 | fbank_only | fr | 35.0 | 60.0 | - | - | 3 | ≥3 "
        "| ref | 36.22 | 35 |  | not scored: tst-HE |",
        "| st_gsgn_drop_fr_bpe8000 | gsgn_drop | fr | 34.2 | 59.9 | - | - | 4 | ≥4 | - "
        "| 36.24 | 30 |  | not scored: tst-HE |",
    ]
    assert lines[12] == ""
    # one signature for every score: once, under the table
    assert lines[13] == f"- sacreBLEU BLEU signature (every score): `{SIG}`"
    assert (
        "- speed-up: the reference's conv. epoch over the experiment's; references: "
        "de: st_fbank_only_de_bpe8000; de, ASR-init: none (no fbank_only_asrinit "
        "experiment); fr: st_fbank_only_fr_bpe8000"
    ) in lines
    assert any(
        line.startswith("- gsgn_drop: Shan et al., arXiv:2501.08057, Table I, ")
        for line in lines
    )
    env_at = lines.index("## Environment")
    assert [line.split(":")[0] for line in lines[env_at + 2 :]] == [
        f"- {key}" for key in FIXED_ENV
    ]

    rows = list(csv.DictReader((tmp_path / "exp" / "results.csv").open()))
    assert [r["experiment"] for r in rows][:4] == [
        "st_fbank_only_de_bpe8000",
        "st_concat_de_bpe8000",
        "st_gsgn_de_bpe8000",
        "st_gsgn_drop_de_bpe8000",
    ]
    gsgn_drop = rows[3]
    assert (gsgn_drop["tst-COMMON BLEU"], gsgn_drop["tst-COMMON chrF"]) == (
        "25.1",
        "54.1",
    )
    assert (gsgn_drop["conv. epoch"], gsgn_drop["speed-up"]) == ("4", "1.50x")
    assert gsgn_drop["paper tst-COMMON BLEU"] == "25.26"
    assert gsgn_drop["BLEU signature"] == SIG  # in the CSV always a column
    assert rows[2]["status"] == "not scored"
    assert rows[2]["BLEU signature"] == "-"

    results = (tmp_path / "exp" / "RESULTS.md").read_text(encoding="utf-8")
    assert results.splitlines()[:10] == [
        "<!-- Generated by python -m espnet2_ext.recipes.mustc.results -->",
        "# RESULTS",
        "## Environments",
        "- date: `Thu May 14 09:03:07 UTC 2026`",
        "- python version: `3.12.3 (main) [GCC 13.2.0]`",
        "- espnet version: `espnet 202611`",
        "- pytorch version: `pytorch 2.11.0`",
        "- Git hash: `0123abc` (dirty: uncommitted changes)",
        "  - Commit date: `Wed May 13 10:00:00 2026 +0200`",
        "",
    ]
    section = results.split("## st_fbank_only_de_bpe8000\n", 1)[1].splitlines()
    assert section[:7] == [
        "",
        "### BLEU",
        "",
        "|dataset|score|verbose_score|",
        "|---|---|---|",
        f"|valid.acc.ave/tst-COMMON.en-de|24.6|{DETAILS}|",
        f"|valid.acc.ave/tst-HE.en-de|20.0|{DETAILS}|",
    ]
    assert "## st_gsgn_drop_fr_bpe8000" in results
    assert "## st_gsgn_de_bpe8000" not in results  # not scored: no section
    assert "## st_stats" not in results and ".old-" not in text


def test_signatures_that_differ_get_a_column_with_escaped_pipes(tmp_path):
    exp = tmp_path / "exp"
    other = SIG.replace("13a", "intl")
    for name, sig in (("fbank_only", SIG), ("gsgn_drop", other)):
        fake_experiment(
            exp / f"st_{name}_es_bpe8000",
            [0.1, 0.3, 0.2],
            scores={"tst-COMMON.en-es": _scores(30.0, 55.0, sig)},
            nbest=1,
        )
    sets = ["tst-COMMON"]
    experiments = [
        mustc_results.read_experiment(d, sets)
        for d in mustc_results.experiment_dirs(exp)
    ]
    table = mustc_results.build_table(experiments, sets, "fbank_only")
    lines = mustc_results.markdown_table(table).splitlines()
    assert lines[0].startswith("| experiment | row | target | tst-COMMON BLEU ")
    assert "| BLEU signature |" in lines[0]
    escaped = other.replace("|", "\\|")
    # conv. epoch 2 of 3 each: 2 / 2
    assert lines[3] == (
        f"| st_gsgn_drop_es_bpe8000 | gsgn_drop | es | 30.0 | 55.0 | {escaped} | 3 | 2 "
        "| 1.00x | 30.24 | 30 |  | scored |"
    )
    assert not any(n.startswith("sacreBLEU") for n in mustc_results.notes(table))


def test_reference_is_the_run_without_suffix_and_can_be_another_row(tmp_path):
    exp = tmp_path / "exp"
    runs = {  # conv. epoch (nbest=1) 2, 3, 4 of 5 epochs each
        "fbank_only_de_bpe1000_seed1": [0.1, 0.5, 0.2, 0.2, 0.2],
        "fbank_only_de_bpe8000": [0.1, 0.2, 0.5, 0.2, 0.2],
        "gsgn_drop_de_bpe8000": [0.1, 0.2, 0.3, 0.5, 0.2],
    }
    for name, acc in runs.items():
        fake_experiment(exp / f"st_{name}", acc, nbest=1)
    experiments = [
        mustc_results.read_experiment(d, ["tst-COMMON"])
        for d in mustc_results.experiment_dirs(exp)
    ]
    comparison = mustc_results.compare(experiments, "fbank_only")
    assert comparison.groups == {("de", False): ("fbank_only", "fbank_only_de_bpe8000")}
    assert comparison.rows["gsgn_drop_de_bpe8000"].speed_up == pytest.approx(3 / 4)
    assert comparison.rows["fbank_only_de_bpe1000_seed1"].speed_up == 1.5
    other = mustc_results.compare(experiments, "gsgn_drop")
    assert other.rows["fbank_only_de_bpe8000"].speed_up == pytest.approx(4 / 3)


def test_tags_name_row_language_tokens_and_asr_init():
    parse = mustc_results.parse_tag
    assert parse("gsgn_drop_de_bpe8000") == mustc_results.Tag(
        "gsgn_drop_de_bpe8000", "gsgn_drop", "de", "bpe8000", ""
    )
    tag = parse("fbank_only_en_fr_bpe_unigram8000_seed2")
    assert (tag.row, tag.tgt_lang, tag.tokens, tag.more) == (
        "fbank_only",
        "fr",
        "bpe_unigram8000",
        "seed2",
    )
    assert parse("units_de_bpe8000").row == "units"
    assert parse("gsgn_drop_asrinit_de_bpe8000").asrinit
    # the mini recipe's order: the suffix after the tokens
    tag = parse("gsgn_drop_de_bpe150_asrinit_seed1")
    assert (tag.row, tag.more) == ("gsgn_drop_asrinit", "seed1")
    assert parse("my_run") == mustc_results.Tag("my_run", "my_run")


def test_published_lookup_returns_the_papers_values():
    # hand-copied from arXiv:2501.08057, Table I (S2T-GSGN+Drop, En-De: 25.26, 30)
    assert published.paper_result("gsgn_drop", "de", "tst-COMMON.en-de") == (
        25.26,
        30,
    )
    # Table I, S2T(S-feature-only), En-Fr: "33.00", epoch 25
    assert published.paper_result("units", "fr", "tst-COMMON") == (33.0, 25)
    assert published.paper_bleu_text("units", "fr", "tst-COMMON") == "33.00"
    # Table IV, S2T-GSGN+Drop pre-trained: 28.19, 27; Table II Replace GSGN+Drop: 25.3
    assert published.paper_result("gsgn_drop_asrinit", "de", "tst-COMMON") == (
        28.19,
        27,
    )
    assert published.paper_result("noise", "de", "tst-COMMON") == (25.3, 39)
    # the paper has no tst-HE, no En-Fr concat, no gate without gradient sensitivity
    assert published.paper_result("gsgn", "de", "tst-HE.en-de") is None
    assert published.paper_result("concat", "fr", "tst-COMMON") is None
    assert published.paper_result("gated_no_gradient", "de", "tst-COMMON") is None
    assert (
        published.espnet_bleu_text("espnet_conformer_asrinit", "de", "tst-COMMON")
        == "25.7"
    )
    assert published.espnet_bleu_text("fbank_only", "de", "tst-COMMON") == ""
    assert published.ESPNET_BASELINE.config == (
        "conf/tuning/train_st_conformer_asrinit_v2.yaml"
    )
    for mapping in published.ROWS.values():
        assert mapping.paper is None or mapping.paper in published.PAPER_ROWS


def test_an_empty_exp_dir_is_an_error(tmp_path):
    (tmp_path / "exp").mkdir()
    with pytest.raises(ValueError, match="no experiment"):
        mustc_results.main(["--exp_dir", str(tmp_path / "exp")])


def test_mustc_v2_sets_have_their_own_columns_and_the_published_values(tmp_path):
    exp = tmp_path / "exp_v2"
    fake_experiment(
        exp / "st_gsgn_drop_de_bpe8000_v2",
        [0.1, 0.3, 0.2],
        scores={"tst-COMMON_v2.en-de": _scores(26.0, 55.0)},
        nbest=1,
    )
    dirs = mustc_results.experiment_dirs(exp)
    sets = ["tst-COMMON_v2.en-de"]
    table = mustc_results.build_table(
        [mustc_results.read_experiment(d, sets) for d in dirs], sets, "fbank_only"
    )
    assert table.rows[0]["tst-COMMON_v2 BLEU"] == "26.0"
    assert table.rows[0]["paper tst-COMMON_v2 BLEU"] == "25.26"
    # tst-COMMON (v1) is not tst-COMMON_v2, though decode_tst-COMMON_* matches both
    e = mustc_results.read_experiment(dirs[0], ["tst-COMMON"])
    assert e.results == {} and e.summary.scores == {}
