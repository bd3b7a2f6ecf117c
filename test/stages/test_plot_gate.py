"""Parsing ESPnet training logs and plotting the GSGN gate diagnostics."""

import logging
import math

import pytest
import yaml

from espnet2_ext.stages.plot_gate import (
    PANELS,
    gate_figure,
    main,
    parse_train_log,
    plot_gate,
    series,
)

# Lines in the format ESPnet 202511 writes (copied from a real run of
# ``espnet2_ext.bin.st_train``, values shortened), including its missing comma
# between two timing entries, run.pl's header/footer and an interleaved warning.
# Epoch 1 has 5 steps with --log_interval 2 (step 5 is in no per-batch line).
LOG = """\
# python3 -m espnet2_ext.bin.st_train --ngpu 0 --config conf/tuning/gsgn.yaml
# Started at Sun Nov 23 02:56:40 UTC 2026
#
[vm] 2026-11-23 02:56:45,717 (trainer:336) INFO: 1/2epoch started
/site-packages/espnet2/train/reporter.py:79: UserWarning: No valid stats found
  warnings.warn("No valid stats found")
[vm] 2026-11-23 02:56:46,124 (trainer:811) INFO: 1epoch:train:1-2batch: \
iter_time=0.018forward_time=0.083, loss=18.950, loss_st=18.950, acc=0.103, \
loss_gate=nan, gate_cos=nan, gate_conflict=nan, gate_mean=nan, gate_above1=nan, \
backward_time=0.053, grad_norm=8.590, loss_scale=1.000, optim0_lr0=2.000e-03
[vm] 2026-11-23 02:56:46,224 (trainer:811) INFO: 1epoch:train:3-4batch: \
iter_time=0.008, forward_time=0.058loss=24.325, loss_st=24.325, acc=0.209, \
loss_gate=0.594, gate_cos=-0.046, gate_conflict=0.490, gate_mean=0.914, \
gate_above1=0.445, backward_time=0.020, grad_norm=12.906, optim0_lr0=2.000e-03
[vm] 2026-11-23 02:56:46,273 (trainer:394) INFO: 1epoch results: [train] \
iter_time=0.013, forward_time=0.070, loss=21.637, acc=0.156, loss_gate=0.594, \
gate_cos=-0.046, gate_conflict=0.490, gate_mean=0.914, gate_above1=0.445, \
train_time=0.137, time=0.28 seconds, total_count=5, [valid] loss=26.354, \
acc_asr=nan, acc=0.149, cer=nan, bleu=0.000e+00, time=0.05 seconds, \
total_count=1, [att_plot] time=0.01 seconds, total_count=0
[vm] 2026-11-23 02:56:46,290 (trainer:462) INFO: The best model has been updated: \
train.loss, valid.loss, train.acc, valid.acc
[vm] 2026-11-23 02:56:46,300 (trainer:324) INFO: 2/2epoch started. Estimated time \
to finish: 0.11 seconds
[vm] 2026-11-23 02:56:46,428 (trainer:811) INFO: 2epoch:train:1-2batch: \
iter_time=0.002forward_time=0.092, loss=23.784, acc=0.233, loss_gate=0.457, \
gate_cos=-0.060, gate_conflict=0.510, gate_mean=1.909e+00, gate_above1=0.445
[vm] 2026-11-23 02:56:46,878 (trainer:394) INFO: 2epoch results: [train] \
loss=20.855, acc=0.202, loss_gate=0.455, gate_cos=-0.050, gate_conflict=0.513, \
gate_mean=0.997, gate_above1=0.504, time=0.04 seconds, total_count=9, [valid] \
loss=25.723, acc=0.160, time=0.01 seconds, total_count=2
[vm] 2026-11-23 02:56:46,892 (trainer:534) INFO: The training was finished at 2 epochs
# Accounting: time=10 threads=1
# Ended (code 0) at Sun Nov 23 02:56:50 UTC 2026, elapsed time 10 seconds
"""

# A run killed before its first summary: steps counted from the per-batch lines.
KILLED = """\
[vm] 2026-11-23 03:00:00,000 (trainer:811) INFO: 1epoch:train:1-2batch: loss=3.0, \
gate_mean=1.5
[vm] 2026-11-23 03:00:01,000 (trainer:811) INFO: 1epoch:train:3-4batch: loss=2.0, \
gate_mean=1.25
[vm] 2026-11-23 03:00:02,000 (trainer:811) INFO: 2epoch:train:1-2batch: loss=1.0, \
gate_mean=0.5
"""


@pytest.fixture
def exp(tmp_path):
    d = tmp_path / "st_gsgn"
    d.mkdir()
    (d / "train.log").write_text(LOG)
    return d


def _nan_equal(got, want):
    return all(
        (math.isnan(g) and math.isnan(w)) or g == w for g, w in zip(got, want)
    ) and len(got) == len(want)


def test_parse_train_log_reads_batch_and_epoch_records(exp):
    records = parse_train_log(exp)  # a directory means its train.log
    assert repr(records) == repr(parse_train_log(exp / "train.log"))  # NaN != NaN
    kinds = [(r.kind, r.epoch, r.phase, r.step) for r in records]
    assert kinds == [
        ("batch", 1, "train", 2),
        ("batch", 1, "train", 4),
        ("epoch", 1, "train", 5),
        ("epoch", 1, "valid", 5),
        ("epoch", 1, "att_plot", 5),
        ("batch", 2, "train", 7),
        ("epoch", 2, "train", 9),
        ("epoch", 2, "valid", 9),
    ]
    first, second = records[0], records[1]
    assert (first.first_batch, first.last_batch) == (1, 2)
    assert (second.first_batch, second.last_batch) == (3, 4)
    # the missing comma after a timing entry does not merge or lose entries
    assert first.stats["iter_time"] == 0.018
    assert first.stats["forward_time"] == 0.083
    assert second.stats["forward_time"] == 0.058
    assert second.stats["loss"] == 24.325
    assert math.isnan(first.stats["gate_conflict"])
    assert second.stats == {
        "iter_time": 0.008,
        "forward_time": 0.058,
        "loss": 24.325,
        "loss_st": 24.325,
        "acc": 0.209,
        "loss_gate": 0.594,
        "gate_cos": -0.046,
        "gate_conflict": 0.49,
        "gate_mean": 0.914,
        "gate_above1": 0.445,
        "backward_time": 0.02,
        "grad_norm": 12.906,
        "optim0_lr0": 0.002,
    }
    assert records[5].stats["gate_mean"] == 1.909
    valid = records[3].stats
    assert valid["loss"] == 26.354 and valid["acc"] == 0.149
    assert valid["bleu"] == 0.0 and math.isnan(valid["acc_asr"])
    assert valid["time"] == 0.05 and valid["total_count"] == 1
    assert records[2].stats["gate_conflict"] == 0.49
    assert records[2].stats["total_count"] == 5


def test_series_per_step_and_per_epoch(exp):
    records = parse_train_log(exp)
    xs, ys = series(records, "train", "gate_conflict")
    assert xs == [2.0, 4.0, 7.0] and _nan_equal(ys, [math.nan, 0.49, 0.51])
    assert series(records, "valid", "loss") == ([5.0, 9.0], [26.354, 25.723])
    assert series(records, "train", "gate_mean", x="epoch") == (
        [1.0, 2.0],
        [0.914, 0.997],
    )
    assert series(records, "valid", "acc", x="epoch") == ([1.0, 2.0], [0.149, 0.16])
    assert series(records, "valid", "gate_mean") == ([], [])


def test_steps_without_epoch_summaries(tmp_path):
    log = tmp_path / "train.log"
    log.write_text(KILLED)
    records = parse_train_log(log)
    assert [r.step for r in records] == [2, 4, 6]
    assert series(records, "train", "gate_mean") == ([2.0, 4.0, 6.0], [1.5, 1.25, 0.5])


def _drawn(ax):
    """``{label: (xs, ys)}`` of the experiment lines of a panel (not the ref line)."""
    return {
        line.get_label(): (list(line.get_xdata()), list(line.get_ydata()))
        for line in ax.get_lines()
        if not line.get_label().startswith("_")
    }


def test_gate_figure_has_every_panel_and_each_experiments_series(exp, tmp_path):
    import matplotlib.pyplot as plt

    other = tmp_path / "st_gsgn_drop"
    other.mkdir()
    (other / "train.log").write_text(KILLED)
    fig = gate_figure([exp, other], x="step")
    try:
        panels = {ax.get_title(): ax for ax in fig.axes if ax.get_visible()}
        assert list(panels) == [name for _, _, name, _, _ in PANELS]
        gate = _drawn(panels["mean FBank gate g_f"])
        assert list(gate) == ["st_gsgn", "st_gsgn_drop"]
        assert gate["st_gsgn_drop"] == ([2.0, 4.0, 6.0], [1.5, 1.25, 0.5])
        xs, ys = gate["st_gsgn"]
        assert xs == [2.0, 4.0, 7.0] and _nan_equal(ys, [math.nan, 0.914, 1.909])
        # percentages are scaled by 100; the killed run logged no conflict
        conflict = _drawn(panels["conflicting elements, cos(θ) < 0 (%)"])
        assert list(conflict) == ["st_gsgn"]
        assert _nan_equal(conflict["st_gsgn"][1], [math.nan, 49.0, 51.0])
        # a reference line at g_f = 1 next to the experiments' lines
        refs = [
            line.get_ydata()[0]
            for line in panels["mean FBank gate g_f"].get_lines()
            if line.get_label().startswith("_")
        ]
        assert refs == [1.0]
        assert _drawn(panels["validation loss"]) == {
            "st_gsgn": ([5.0, 9.0], [26.354, 25.723])
        }
        assert [t.get_text() for t in panels["validation accuracy"].texts] == []
        assert {ax.get_xlabel() for ax in panels.values()} == {"training step"}
    finally:
        plt.close(fig)


def test_plot_gate_writes_a_png(exp, tmp_path):
    other = tmp_path / "st_gsgn_drop"
    other.mkdir()
    (other / "train.log").write_text(KILLED)
    out = plot_gate([exp, other], tmp_path / "figs" / "gate.png", smooth=2)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert out.stat().st_size > 10_000
    epoch_png = plot_gate([exp], tmp_path / "gate_epoch.png", x="epoch")
    assert epoch_png.stat().st_size > 10_000
    with pytest.raises(ValueError, match="labels"):
        plot_gate([exp], tmp_path / "x.png", labels=["a", "b"])


def test_cli(exp, tmp_path, capsys):
    out = tmp_path / "cli.png"
    main([str(exp), str(exp / "train.log"), "--labels", "a", "b", "--out", str(out)])
    assert capsys.readouterr().out.strip() == str(out)
    assert out.stat().st_size > 10_000
    with pytest.raises(SystemExit, match="no training log"):
        main([str(tmp_path / "missing"), "--out", str(out)])


def test_real_tiny_run(toy_st, tiny_hubert, tmp_path, caplog):
    """A 2-epoch run of ESPnet's trainer; its log records parse and plot."""
    from espnet2_ext.synth.toy_st import st_train_args, tiny_st_config
    from espnet2_ext.tasks.st import MultiViewSTTask

    conf = tiny_st_config(
        "multiview",
        dict(
            upstreams=[dict(name="hubert_local", path_or_url=str(tiny_hubert))],
            dim=32,
            fusion="gsgn",
            fusion_conf=dict(branch_dropout=[[1, 0.3, 0.0]]),
        ),
    )
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(conf))
    exp = tmp_path / "exp"
    caplog.set_level(logging.INFO)  # ESPnet's basicConfig is a no-op under pytest
    MultiViewSTTask.main(cmd=st_train_args(toy_st, exp, config, max_epoch=2))
    (exp / "train.log").write_text(caplog.text)

    records = parse_train_log(exp)
    batches = [r for r in records if r.kind == "batch"]
    epochs = [(r.epoch, r.phase, r.step) for r in records if r.kind == "epoch"]
    # 8 utterances in batches of 4, --log_interval 1: 2 steps per epoch
    assert [(r.epoch, r.last_batch, r.step) for r in batches] == [
        (1, 1, 1),
        (1, 2, 2),
        (2, 1, 3),
        (2, 2, 4),
    ]
    assert epochs == [
        (1, "train", 2),
        (1, "valid", 2),
        (2, "train", 4),
        (2, "valid", 4),
    ]
    for r in batches:
        assert {"loss", "acc", "gate_conflict", "gate_mean", "iter_time"} <= set(
            r.stats
        )
        assert r.stats["loss"] > 0
    assert all(math.isfinite(r.stats["gate_mean"]) for r in batches[1:])
    xs, ys = series(records, "valid", "loss")
    assert xs == [2.0, 4.0] and all(math.isfinite(y) for y in ys)
    out = plot_gate([exp], tmp_path / "real.png")
    assert out.stat().st_size > 10_000
