"""The recipe's final table, JSON and plot, from real ESPnet reporter checkpoints."""

import json

import pytest
import torch
from espnet2.train.reporter import Reporter

from espnet2_ext.recipe import report


def _fake_experiment(exp, valid_acc, gate_conflict=None, scores=None):
    """An experiment dir as ESPnet's trainer and our stage 13 leave it."""
    reporter = Reporter()
    for epoch, acc in enumerate(valid_acc, start=1):
        reporter.set_epoch(epoch)
        with reporter.observe("train") as sub:
            stats = {"loss": torch.tensor(5.0)}
            if gate_conflict is not None:
                stats["gate_conflict"] = torch.tensor(gate_conflict[epoch - 1])
            sub.register(stats)
            sub.next()
        with reporter.observe("valid") as sub:
            sub.register({"acc": torch.tensor(acc), "loss": torch.tensor(1.0 / acc)})
            sub.next()
    exp.mkdir(parents=True)
    torch.save({"reporter": reporter.state_dict()}, exp / "checkpoint.pth")
    for dset, values in (scores or {}).items():
        score = exp / f"decode_{dset}_valid.acc.ave" / "score"
        score.mkdir(parents=True)
        (score / "result.json").write_text(json.dumps(values), encoding="utf-8")


def test_summary_reads_epochs_curves_and_scores(tmp_path):
    exp = tmp_path / "st_gsgn_drop_de"
    _fake_experiment(
        exp,
        valid_acc=[0.25, 0.5],
        gate_conflict=[0.4, 0.3],
        scores={"test": {"bleu": 12.34, "chrf": 40.0, "ter": 80.0, "extra": "x"}},
    )
    row = report.summarize_experiment(exp, ["dev", "test"])
    assert row.name == "gsgn_drop_de"
    assert row.epochs == 2
    assert row.valid_curves["acc"] == pytest.approx([0.25, 0.5])
    assert row.valid_curves["loss"] == pytest.approx([4.0, 2.0])
    assert row.valid_curves["train_gate_conflict"] == pytest.approx([0.4, 0.3])
    assert "train_gate_mean" not in row.valid_curves
    assert row.scores == {"test": {"bleu": 12.34, "chrf": 40.0, "ter": 80.0}}
    assert row.train_seconds >= 0.0


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
    _fake_experiment(exps[0], [0.1], scores={"dev": {"bleu": 1.0, "chrf": 2.0}})
    _fake_experiment(exps[1], [0.2, 0.3], gate_conflict=[0.5, 0.25])
    out = tmp_path / "results" / "res"
    report.main([str(e) for e in exps] + ["--sets", "dev", "--out", str(out)])
    table = out.with_suffix(".md").read_text(encoding="utf-8")
    assert table.splitlines()[2].startswith("| fbank_only_de | 1.0 | 2.0 | 1 |")
    assert table.splitlines()[3].startswith("| gsgn_drop | - | - | 2 |")
    assert table in capsys.readouterr().out
    data = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert [d["name"] for d in data] == ["fbank_only_de", "gsgn_drop"]
    assert out.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_untrained_experiment_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="st_x/checkpoint.pth not found"):
        report.summarize_experiment(tmp_path / "st_x", ["dev"])
