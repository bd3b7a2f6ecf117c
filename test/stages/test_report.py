"""The recipe's final table, JSON and plot, from real ESPnet reporter checkpoints."""

import json

import pytest
from fake_experiments import fake_experiment

from espnet2_ext.stages import convergence as conv
from espnet2_ext.stages import report
from espnet2_ext.stages.provenance import environment


def test_summary_reads_epochs_curves_and_scores(tmp_path):
    exp = tmp_path / "st_gsgn_drop_de"
    fake_experiment(
        exp,
        valid_acc=[0.25, 0.5],
        gate_conflict=[0.4, 0.3],
        scores={"test": {"bleu": 12.34, "chrf": 40.0, "ter": 80.0, "extra": "x"}},
        times=[(60.0, 4.5), (61.5, 4.0)],
    )
    row = report.summarize_experiment(exp, ["dev", "test"])
    assert row.name == "gsgn_drop_de"
    assert row.epochs == 2
    assert row.valid_curves["acc"] == pytest.approx([0.25, 0.5])
    assert row.valid_curves["loss"] == pytest.approx([4.0, 2.0])
    assert row.valid_curves["train_gate_conflict"] == pytest.approx([0.4, 0.3])
    assert "train_gate_mean" not in row.valid_curves
    assert row.scores == {"test": {"bleu": 12.34, "chrf": 40.0, "ter": 80.0}}
    assert row.train_seconds == pytest.approx(60.0 + 4.5 + 61.5 + 4.0)


def test_table_has_a_dash_for_missing_scores_and_chosen_metrics():
    rows = [
        report.ExperimentSummary(
            "a", 3, 125.0, {"dev": {"bleu": 10.04, "chrf": 33.36}}
        ),
        report.ExperimentSummary("b", 1, 9.6, {"dev": {"wer": 50.0, "cer": 20.0}}),
    ]
    assert report.markdown_table(rows, ["dev", "test"]).splitlines() == [
        "| model | dev BLEU | dev chrF | test BLEU | test chrF | epochs | train time |",
        "|---|---|---|---|---|---|---|",
        "| a | 10.0 | 33.4 | - | - | 3 | 2m05s |",
        "| b | - | - | - | - | 1 | 0m10s |",
    ]
    wer_table = report.markdown_table(rows, ["dev"], metrics=("wer", "cer"))
    assert (
        wer_table.splitlines()[0]
        == "| model | dev WER | dev CER | epochs | train time |"
    )
    assert wer_table.splitlines()[3] == "| b | 50.0 | 20.0 | 1 | 0m10s |"


def test_cli_writes_table_json_and_plot(tmp_path, capsys):
    exps = [tmp_path / "st_fbank_only_de", tmp_path / "asr_gsgn_drop"]
    fake_experiment(exps[0], [0.1], scores={"dev": {"bleu": 1.0, "chrf": 2.0}})
    fake_experiment(exps[1], [0.2, 0.3], gate_conflict=[0.5, 0.25])
    out = tmp_path / "results" / "res"
    report.main([str(e) for e in exps] + ["--sets", "dev", "--out", str(out)])
    table = out.with_suffix(".md").read_text(encoding="utf-8")
    assert table.splitlines()[2].startswith("| fbank_only_de | 1.0 | 2.0 | 1 |")
    assert table.splitlines()[3].startswith("| gsgn_drop | - | - | 2 |")
    assert table in capsys.readouterr().out
    data = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert [d["name"] for d in data] == ["fbank_only_de", "gsgn_drop"]
    assert out.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_curves_figure_has_a_panel_per_curve_and_a_line_per_experiment(tmp_path):
    import matplotlib.pyplot as plt

    exps = [tmp_path / "st_fbank_only_de", tmp_path / "st_gsgn_drop_de"]
    fake_experiment(exps[0], [0.1, 0.2, 0.4])
    fake_experiment(exps[1], [0.25, 0.5], gate_conflict=[0.5, 0.25])
    rows = [report.summarize_experiment(e, ["dev"]) for e in exps]
    fig = report.curves_figure(rows)
    try:
        titles = [ax.get_title() for ax in fig.axes]
        assert titles == [
            "validation accuracy",
            "validation loss",
            "share of conflicting gate elements",
        ]

        def lines(ax):
            return {
                line.get_label(): (list(line.get_xdata()), list(line.get_ydata()))
                for line in ax.get_lines()
            }

        acc, loss, conflict = (lines(ax) for ax in fig.axes)
        assert acc["fbank_only_de"] == ([1, 2, 3], pytest.approx([0.1, 0.2, 0.4]))
        assert acc["gsgn_drop_de"] == ([1, 2], pytest.approx([0.25, 0.5]))
        assert loss["gsgn_drop_de"][1] == pytest.approx([4.0, 2.0])
        assert list(conflict) == ["gsgn_drop_de"]  # FBank-only logs no gate
        assert conflict["gsgn_drop_de"][1] == pytest.approx([0.5, 0.25])
        legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
        assert legend == ["fbank_only_de", "gsgn_drop_de"]
    finally:
        plt.close(fig)


def test_untrained_experiment_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="st_x/checkpoint.pth not found"):
        report.summarize_experiment(tmp_path / "st_x", ["dev"])


def test_convergence_epoch_is_the_last_of_the_nbest_epochs(tmp_path):
    exp = tmp_path / "st_a"
    fake_experiment(
        exp, [0.1, 0.5, 0.4, 0.6, 0.55, 0.3], scores={"test": {}}, nbest="[1, 3]"
    )
    row = report.summarize_experiment(exp, ["test"])
    # the decoded model (decode_test_valid.acc.ave) names the criterion
    assert row.criterion == ["valid", "acc", "max"]
    assert row.nbest == 3
    # the 3 best: 0.6 (epoch 4), 0.55 (5), 0.5 (2): the last of them is 5
    assert row.conv_epoch == 5
    assert row.criterion_curve[4] == pytest.approx(0.6)
    assert sorted(row.criterion_curve) == [1, 2, 3, 4, 5, 6]


def test_convergence_epoch_ties_rank_the_earlier_epoch_first(tmp_path):
    # nothing decoded: valid acc of the config's two criteria; of the three 0.6,
    # ESPnet's stable sort keeps epochs 1 and 3 as the 2 best: conv. epoch 3
    exp = tmp_path / "st_a"
    fake_experiment(exp, [0.6, 0.5, 0.6, 0.6], nbest=2)
    row = report.summarize_experiment(exp, ["test"])
    assert row.criterion == ["valid", "acc", "max"]
    assert row.conv_epoch == 3


def test_no_config_no_convergence_columns(tmp_path):
    exp = tmp_path / "st_fbank_only_de"
    fake_experiment(exp, [0.1, 0.2])
    row = report.summarize_experiment(exp, ["test"])
    assert (row.conv_epoch, row.nbest, row.criterion) == (None, None, [])
    assert report.markdown_table([row], ["test"]).splitlines()[0] == (
        "| model | test BLEU | test chrF | epochs | train time |"
    )


def _three_models(tmp_path):
    """FBank-only, SSL-only and GSGN+Drop, one run each, 3 best epochs averaged."""
    runs = {
        # best 3: 0.61 (7), 0.6 (4), 0.59 (6) -> conv. epoch 7; best 0.61
        "st_fbank_only_de": ([0.2, 0.4, 0.5, 0.6, 0.58, 0.59, 0.61], 12.0),
        # best 3: 0.65 (3), 0.64 (4), 0.62 (2) -> 4; reaches 0.61 at epoch 2
        "st_ssl_only_de": ([0.3, 0.62, 0.65, 0.64, 0.5], 10.5),
        # best 3: 0.7 (5), 0.63 (4), 0.6 (3) -> 5; reaches 0.61 at epoch 4
        "st_gsgn_drop_de": ([0.25, 0.5, 0.6, 0.63, 0.7], 13.2),
    }
    exps = []
    for name, (acc, bleu) in runs.items():
        exps.append(tmp_path / name)
        scores = {"test": {"bleu": bleu, "chrf": 40.0}}
        fake_experiment(exps[-1], acc, scores=scores, nbest=3)
    return exps


def test_table_conv_epoch_reaches_reference_and_speed_up(tmp_path):
    rows = [report.summarize_experiment(e, ["test"]) for e in _three_models(tmp_path)]
    assert report.markdown_table(rows, ["test"]).splitlines() == [
        "| model | test BLEU | test chrF | epochs | train time | conv. epoch "
        "| reaches ref @ | speed-up |",
        "|---|---|---|---|---|---|---|---|",
        # fbank_only_de and gsgn_drop_de are best at their last epoch: lower
        # bounds, so no speed-up from either
        "| fbank_only_de | 12.0 | 40.0 | 7 | 0m00s | ≥7 | ref | ref |",
        "| ssl_only_de | 10.5 | 40.0 | 5 | 0m00s | 4 | 2 | - |",
        "| gsgn_drop_de | 13.2 | 40.0 | 5 | 0m00s | ≥5 | 4 | - |",
    ]
    # another reference: gsgn_drop_de's best 0.7 is never reached by the others
    table = report.markdown_table(rows, ["test"], reference="gsgn_drop_de")
    assert table.splitlines()[2].endswith("| ≥7 | - | - |")
    assert table.splitlines()[3].endswith("| 4 | - | - |")
    assert table.splitlines()[4].endswith("| ≥5 | ref | ref |")
    assert report.table_claims(rows, ["test"]) == [
        # fbank_only_de needs 7 epochs or more; ssl_only_de converged at 4: yes
        "ssl_only_de converges in fewer epochs than fbank_only_de: yes: "
        "conv. epoch 4 vs 7 (-3) (one run each: seed noise not measured) "
        "(fbank_only_de's is a lower bound: still improving at its last epoch)",
        "gsgn_drop_de vs fbank_only_de: test BLEU 13.2 vs 12.0 (+1.2) "
        "(one run each: seed noise not measured)",
        "gsgn_drop_de vs fbank_only_de: conv. epoch 5 vs 7 (-2) "
        "(one run each: seed noise not measured) "
        "(both lower bounds: still improving at their last epoch)",
        # their last epoch is among their best: bounded by the budget
        "fbank_only_de was still improving at its last epoch (7): its epoch of "
        "convergence is a lower bound set by max_epoch, not a measured convergence",
        "gsgn_drop_de was still improving at its last epoch (5): its epoch of "
        "convergence is a lower bound set by max_epoch, not a measured convergence",
    ]
    with pytest.raises(ValueError, match=r"--reference nope is none of \['fbank"):
        report.markdown_table(rows, ["test"], reference="nope")


def test_seeds_make_one_row_with_mean_and_sample_std(tmp_path):
    fbank = {  # best 0.6 at epochs 4, 5, 6: conv. 5 ± 1.0, BLEU 12.4 ± 0.4
        1: ([0.1, 0.2, 0.3, 0.6, 0.5, 0.4], 12.0),
        2: ([0.1, 0.2, 0.3, 0.4, 0.6, 0.5], 12.4),
        3: ([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], 12.8),
    }
    gsgn = {  # best at 3, 4, 8: conv. 5 ± sqrt(14 / 2) = 2.6, BLEU 13.0 ± 0.4
        1: ([0.1, 0.2, 0.7, 0.5, 0.4, 0.3, 0.2, 0.1], 12.6),
        2: ([0.1, 0.2, 0.3, 0.7, 0.5, 0.4, 0.3, 0.2], 13.0),
        3: ([0.1, 0.2, 0.3, 0.4, 0.5, 0.55, 0.58, 0.65], 13.4),
    }
    exps = []
    for model, runs in (("fbank_only_de", fbank), ("gsgn_drop_de", gsgn)):
        for seed, (acc, bleu) in runs.items():
            exps.append(tmp_path / f"st_{model}_seed{seed}")
            fake_experiment(exps[-1], acc, scores={"test": {"bleu": bleu}}, nbest=1)
    exps.append(tmp_path / "st_ssl_only_de")  # one run: best 0.7 at epoch 2
    fake_experiment(exps[-1], [0.3, 0.7, 0.6, 0.5], nbest=1)
    rows = [report.summarize_experiment(e, ["test"]) for e in exps]
    assert report.markdown_table(rows, ["test"], metrics=("bleu",)).splitlines() == [
        "| model | test BLEU | epochs | train time | conv. epoch | reaches ref @ "
        "| speed-up |",
        "|---|---|---|---|---|---|---|",
        "| fbank_only_de (n=3) | 12.4 ± 0.4 | 6 ± 0.0 | 0m00s | 5 ± 1.0 | ref "
        "| ref |",
        # reaches the reference's 0.6 at epochs 3, 4, 8
        "| gsgn_drop_de (n=3) | 13.0 ± 0.4 | 8 ± 0.0 | 0m00s | 5 ± 2.6 | 5 ± 2.6 "
        "| 1.00x |",
        "| ssl_only_de | - | 4 | 0m00s | 2 | 2 | 2.50x |",
    ]
    assert report.table_claims(rows, ["test"]) == [
        "ssl_only_de converges in fewer epochs than fbank_only_de: yes: "
        "conv. epoch 2 vs 5 ± 1.0 (-3) (more than one std across seeds, n=1 vs 3)",
        "gsgn_drop_de vs fbank_only_de: test BLEU 13.0 ± 0.4 vs 12.4 ± 0.4 (+0.6) "
        "(more than one std across seeds, n=3 vs 3)",
        "gsgn_drop_de vs fbank_only_de: conv. epoch 5 ± 2.6 vs 5 ± 1.0 (+0) "
        "(within one std across seeds, n=3 vs 3: not distinguishable from noise)",
    ]


def test_a_lower_bound_decides_fewer_epochs_only_one_way():
    def verdict(model, ref):
        groups = {
            "fbank_only_de": {"conv": [ref[0]], "epochs": [ref[1]], "bleu": [1.0]},
            "ssl_only_de": {"conv": [model[0]], "epochs": [model[1]], "bleu": [1.0]},
        }
        line = conv.claims(groups, "fbank_only_de", "test")[0]
        return line.split(": ")[1]

    # (conv. epoch, epochs trained): conv == epochs is a lower bound
    assert verdict((12, 12), (12, 12)) == "not measured"  # both still improving
    assert verdict((8, 12), (12, 15)) == "yes"  # both measured
    assert verdict((12, 15), (8, 12)) == "no"
    assert verdict((8, 12), (10, 10)) == "yes"  # the reference needs >= 10
    assert verdict((10, 12), (8, 8)) == "not measured"  # >= 8 may be 11
    assert verdict((10, 10), (8, 12)) == "no"  # the model needs >= 10
    assert verdict((6, 6), (8, 12)) == "not measured"  # >= 6 may be 7 or 9
    lines = conv.claims(
        {
            "fbank_only_de": {"conv": [12], "epochs": [12], "bleu": [40.3]},
            "ssl_only_de": {"conv": [12], "epochs": [12], "bleu": [57.3]},
        },
        "fbank_only_de",
        "test",
    )
    assert lines == [
        "ssl_only_de converges in fewer epochs than fbank_only_de: not measured: "
        "conv. epoch 12 vs 12 (+0) (one run each: seed noise not measured) "
        "(both lower bounds: still improving at their last epoch)"
    ]


def test_groups_and_partial_reaches():
    assert conv.group_name("fbank_only_de_bpe300_seed12") == "fbank_only_de_bpe300"
    assert conv.group_name("fbank_only_de") == "fbank_only_de"
    assert conv.group_name("gsgn_r2", r"^(.+)_r\d$") == "gsgn"
    assert report._reaches([3, None, 5]) == "4 ± 1.4 (2/3)"  # std of 3, 5: sqrt 2
    assert report._reaches([None, None]) == "-"
    assert conv.fmt_spread([7]) == "7.0" and conv.fmt_spread([7], 0) == "7"
    assert conv.fmt_spread([6, 7], 0) == "6.5 ± 0.7"


def test_cli_writes_claims_under_the_table_and_the_summary(tmp_path, capsys):
    out = tmp_path / "res"
    exps = _three_models(tmp_path)
    results = tmp_path / "RESULTS.md"
    report.main(
        [str(e) for e in exps]
        + ["--sets", "test", "--out", str(out), "--results_md", str(results)]
        + ["--command", "./run.sh --models all"]
    )
    text = out.with_suffix(".md").read_text(encoding="utf-8")
    assert text in capsys.readouterr().out
    md = results.read_text(encoding="utf-8")
    assert md.endswith(text)
    head = md[: -len(text)].splitlines()
    assert head[:3] == [
        "<!-- Generated by python -m espnet2_ext.stages.report --results_md -->",
        "# RESULTS",
        "## Environments",
    ]
    assert "## ./run.sh --models all" in head
    assert any(line.startswith("- espnet version: `espnet ") for line in head)
    lines = text.splitlines()
    assert lines[4] == "| gsgn_drop_de | 13.2 | 40.0 | 5 | 0m00s | ≥5 | 4 | - |"
    assert lines[5] == ""
    assert lines[6].startswith("- ssl_only_de converges in fewer epochs than")
    assert len(lines) == 11
    summary = json.loads(out.with_suffix(".summary.json").read_text())
    assert summary["reference"] == "fbank_only_de"
    assert [
        (r["name"], r["conv_epochs"], r["reaches_ref"]) for r in summary["rows"]
    ] == [
        ("fbank_only_de", [7], [7]),
        ("ssl_only_de", [4], [2]),
        ("gsgn_drop_de", [5], [4]),
    ]
    assert summary["claims"] == [line[2:] for line in lines[6:]]
    assert summary["environment"]["espnet"] == environment()["espnet"]
    assert {"git hash", "torch", "gpu"} <= set(summary["environment"])
    data = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert [d["conv_epoch"] for d in data] == [7, 4, 5]
