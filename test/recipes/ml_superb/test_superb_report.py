"""The ML-SUPERB report: SUPERB_s against hand-computed values, unfinished cells, and
the files read back from a hand-built experiment folder."""

import json
import math

import pytest
import torch

from espnet2_ext.recipes.ml_superb import report as sr
from espnet2_ext.recipes.ml_superb.matrix import (
    INFERENCE_MODEL,
    Cell,
    Track,
    score_path,
)

#: The index of each report column.
COLUMN = {name: i for i, name in enumerate(sr.COLUMNS)}


def scores(cer, lid=None, per_language=None):
    """A ``score_superb/result.json`` dict with the fields the report reads."""
    return {
        "macro_cer": cer,
        "worst_cer": cer + 5,
        "cer_std": 2.0,
        "lid_accuracy": lid,
        "cer_per_language": per_language or {"fra": cer - 1, "deu": cer + 1},
    }


def cell(frontend, lr, dev, test, lid=None, track="multi_lid_10min"):
    """A finished cell (``dev``/``test`` are CERs; None leaves the part unscored)."""
    is_lid = Track.parse(track).lid
    return sr.CellResult(
        f"{track}_{frontend}_lr{lr:g}",
        track,
        is_lid,
        frontend,
        lr,
        dev=None if dev is None else scores(dev, lid),
        test=None if test is None else scores(test, lid),
    )


@pytest.fixture
def lid_track():
    # Test CER / LID: the baseline is fbank at lr 1e-3 (lower dev CER, 50 < 60) even
    # though fbank at 3e-4 has the better test CER; the best of the job is hconv.
    return [
        cell("fbank", 1e-3, dev=50, test=40, lid=80),
        cell("fbank", 3e-4, dev=60, test=30, lid=90),
        cell("weighted_sum", 1e-3, dev=55, test=35, lid=85),
        cell("hconv", 1e-3, dev=45, test=20, lid=100),
    ]


def test_superb_s_per_cell_by_hand(lid_track):
    sr.add_superb_scores(lid_track)
    # term = (value - fbank) / (best - fbank), averaged over CER and LID, times 1000
    # fbank 3e-4:   CER (30-40)/(20-40) = 0.5,  LID (90-80)/(100-80) = 0.5  -> 500
    # weighted_sum: CER (35-40)/(20-40) = 0.25, LID (85-80)/(100-80) = 0.25 -> 250
    assert [r.superb for r in lid_track] == pytest.approx([0.0, 500.0, 250.0, 1000.0])


def test_track_references_choose_fbank_by_dev(lid_track):
    refs = sr.track_references(lid_track)
    assert refs == {"multi_lid_10min": {"cer": (40, 20), "lid": (80, 100)}}


def test_non_lid_track_scores_cer_only():
    results = [
        cell("fbank", 1e-3, dev=50, test=40, lid=None, track="mono_fra_10min"),
        cell("hconv", 1e-3, dev=40, test=30, lid=None, track="mono_fra_10min"),
        cell("gsgn", 1e-3, dev=45, test=36, lid=None, track="mono_fra_10min"),
    ]
    sr.add_superb_scores(results)
    # gsgn: (36-40)/(30-40) = 0.4 -> 400
    assert [r.superb for r in results] == pytest.approx([0.0, 1000.0, 400.0])
    assert sr.row(results[0])[COLUMN["LID acc"]] == ""


def test_frontend_summary_over_tracks_by_hand(lid_track):
    mono = [
        cell("fbank", 1e-3, dev=50, test=40, track="mono_fra_10min"),
        cell("hconv", 1e-3, dev=40, test=30, track="mono_fra_10min"),
        cell("hconv", 3e-4, dev=41, test=20, track="mono_fra_10min"),
    ]
    summary = dict(sr.frontend_summary(lid_track + mono))
    # hconv: LID track 1000; mono track at lr 1e-3 (dev 40 < 41): (30-40)/(20-40)
    # = 0.5 -> 500; mean over the two tracks 750. weighted_sum ran on one track only.
    assert summary["hconv"] == pytest.approx(750.0)
    assert summary["fbank"] == pytest.approx(0.0)
    assert summary["weighted_sum"] == pytest.approx(250.0)


def test_unfinished_cell_is_shown_and_not_scored(lid_track):
    unfinished = cell("gsgn", 1e-3, dev=48, test=None)
    results = lid_track + [unfinished]
    sr.add_superb_scores(results)
    assert unfinished.superb is None
    values = sr.row(unfinished)
    assert values[COLUMN["dev CER"]] == "48.0"
    assert values[COLUMN["test CER"]] == values[COLUMN["SUPERB_s"]] == "–"
    text = sr.markdown(results, {"python": "3"})
    assert "Not finished: multi_lid_10min_gsgn_lr0.001." in text
    # the references ignore the unfinished cell: hconv stays the best (1000)
    assert "- hconv: 1000" in text


def test_no_finished_fbank_cell_says_so():
    results = [cell("fbank", 1e-3, 50, None), cell("hconv", 1e-3, 45, 20, lid=90)]
    sr.add_superb_scores(results)
    assert results[1].superb is None
    text = sr.markdown(results, {})
    assert "SUPERB_s: no finished `fbank` cell to normalise against." in text


def test_fbank_best_everywhere_leaves_superb_s_undefined_and_says_why():
    results = [
        cell("fbank", 1e-3, dev=40, test=38, lid=44),
        cell("weighted_sum", 1e-3, dev=77, test=78, lid=39),
    ]
    sr.add_superb_scores(results)
    assert [r.superb for r in results] == [None, None]
    text = sr.markdown(results, {})
    assert "SUPERB_s: undefined, as the FBank baseline is the best cell" in text
    assert "no finished `fbank` cell" not in text


def test_languages_table_lists_each_language(lid_track):
    lines = sr.languages_table(lid_track[:2])
    assert lines[0] == "| cell | deu | fra |"
    assert lines[2] == "| multi_lid_10min_fbank_lr0.001 | 41.0 | 39.0 |"
    assert len(lines) == 4


def test_learned_shows_top_three_layers_or_gate():
    r = cell("weighted_sum", 1e-3, 50, 40)
    r.layer_weights = [0.1, 0.4, 0.2, 0.3]
    assert sr.learned(r) == "L1:0.40 L3:0.30 L2:0.20"
    g = cell("gsgn", 1e-3, 50, 40)
    g.gate_mean = 0.625
    assert sr.learned(g) == "gate mean 0.62"
    assert sr.learned(cell("fbank", 1e-3, 50, 40)) == ""


def write_cell(expdir, frontend, lr, dev, test, lid):
    """A cell's score files and matrix entry, as the driver writes them."""
    c = Cell(Track.parse("multi_lid_10min"), frontend, lr)
    for dset, cer in ((c.track.dev_set, dev), (c.track.test_set, test)):
        if cer is None:
            continue
        path = score_path(c, dset, expdir)
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(scores(cer, lid)), encoding="utf-8")
    return {
        "tag": c.tag,
        "track": c.track.name,
        "lid": True,
        "frontend": frontend,
        "lr": lr,
        "config": "unused.yaml",
        "exp": str(c.exp(expdir)),
    }


def test_write_report_reads_scores_and_layer_weights(tmp_path):
    expdir = tmp_path / "exp"
    entries = [
        write_cell(expdir, "fbank", 1e-3, 50, 40, 80),
        write_cell(expdir, "weighted_sum", 1e-3, 45, 30, 90),
        write_cell(expdir, "hconv", 1e-3, 44, None, None),
    ]
    # softmax of (0, ln 3) is (0.25, 0.75)
    weights = torch.tensor([0.0, math.log(3.0)])
    torch.save(
        {"frontend.interface.weights": weights, "encoder.w": torch.zeros(2)},
        expdir / "asr_multi_lid_10min_weighted_sum_lr1e-3" / INFERENCE_MODEL,
    )
    matrix = tmp_path / "matrix.json"
    matrix.write_text(json.dumps(entries), encoding="utf-8")

    text = sr.write_report(matrix, tmp_path / "report")

    data = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    by_tag = {c["tag"]: c for c in data["cells"]}
    ws = by_tag["multi_lid_10min_weighted_sum_lr1e-3"]
    assert ws["layer_weights"] == pytest.approx([0.25, 0.75])
    # weighted_sum is the best finished cell (hconv has no test scores): 1000
    assert ws["superb"] == pytest.approx(1000.0)
    assert by_tag["multi_lid_10min_hconv_lr1e-3"]["superb"] is None
    assert data["summary"]["fbank"] == pytest.approx(0.0)
    assert "L1:0.75 L0:0.25" in text
    assert "Not finished: multi_lid_10min_hconv_lr1e-3." in text
    csv_lines = (tmp_path / "report.csv").read_text(encoding="utf-8").splitlines()
    assert csv_lines[0].split(",")[:4] == ["tag", "track", "frontend", "lr"]
    assert len(csv_lines) == 4
    assert (tmp_path / "report_cer_per_language.png").stat().st_size > 0
    assert (tmp_path / "report_layer_weights.png").stat().st_size > 0
    # no cell has a checkpoint, so no curves
    assert not (tmp_path / "report_curves.png").exists()
