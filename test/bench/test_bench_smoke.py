"""The benchmark scripts run end to end at their smallest settings: schema, not speed.

The GSGN test also checks that the timed two-pass reference matches the one pass.
"""

import json

import pytest

from espnet2_ext.bench import frontend, gsgn_step

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("bench_cache")


def test_frontend_bench_writes_json_markdown_and_plots(tmp_path, cache_dir, capsys):
    out = tmp_path / "out"
    report = frontend.main(
        [
            "--device", "cpu",
            "--upstream_sizes", "tiny",
            "--lengths", "0.5",
            "--batch_sizes", "2",
            "--num_upstreams", "2",
            "--variants", "espnet_fbank", "espnet_s3prl", "espnet_fused",
            "ours_gated", "ours_gsgn", "ours_gsgn_2pass",
            "--warmup", "0",
            "--repeats", "1",
            "--dim", "16",
            "--cache_dir", str(cache_dir),
            "--outdir", str(out),
            "--tag", "fe",
        ]  # fmt: skip
    )
    data = json.loads((out / "fe.json").read_text())
    assert {"benchmark", "machine", "settings", "results", "ratios"} <= set(data)
    assert data["machine"]["device"] == "cpu"
    single, multi = data["results"]
    assert single["sweeps"] == ["length", "batch", "upstream"]
    assert multi["sweeps"] == ["num_upstreams"] and multi["num_upstreams"] == 2
    assert [r["variant"] for r in multi["rows"]] == list(frontend.MULTI_VARIANTS)
    by_name = {r["variant"]: r for r in single["rows"]}
    assert set(by_name) == {
        "espnet_fbank",
        "espnet_s3prl",
        "espnet_fused",
        "ours_gated",
        "ours_gsgn",
        "ours_gsgn_2pass",
    }
    for row in single["rows"] + multi["rows"]:
        assert {
            "step",
            "frontend_only",
            "step_s",
            "frontend_s",
            "peak_bytes",
            "memory_method",
            "params_total",
            "params_trainable",
            "params_upstream",
            "output_dim",
        } <= set(row)
        assert len(row["step"]["times_s"]) == 1 and row["step_s"] > 0
    assert by_name["espnet_fbank"]["params_total"] == 0
    assert by_name["ours_gsgn_2pass"]["mode"] == "two_pass"
    assert (
        by_name["espnet_s3prl"]["params_trainable"]
        < by_name["ours_gsgn"]["params_trainable"]
    )
    ratios = {r["ratio"] for r in data["ratios"]}
    assert {"ours_gsgn / espnet_s3prl", "ours_gsgn_2pass / ours_gsgn"} <= ratios

    md = (out / "fe.md").read_text()
    header = (
        "| upstream | N | len (s) | B | variant | step (ms) | step min (ms) "
        "| frontend only (ms) | peak mem (MiB) | params | trainable | CPU wait |"
    )
    assert header in md
    assert (
        "| upstream | len (s) | B | ratio | step (median) | step (min) "
        "| frontend only (median) |"
    ) in md
    assert header in capsys.readouterr().out
    for sweep in frontend.SWEEPS:
        assert (out / f"fe_{sweep}.png").stat().st_size > 0
    assert len(report["plots"]) == 4
    _check_length_sweep_figure(report)


def _check_length_sweep_figure(report):
    """The plotted series are the report's medians: solid step, dashed frontend."""
    import matplotlib.pyplot as plt

    fig = frontend.sweep_figure(report, "length")
    try:
        (ax,) = fig.axes
        points = [p for p in report["results"] if "length" in p["sweeps"]]
        names = [r["variant"] for r in points[0]["rows"]]
        lines = ax.get_lines()
        assert len(lines) == 2 * len(names)
        for name, solid, dashed in zip(names, lines[::2], lines[1::2]):
            rows = [next(r for r in p["rows"] if r["variant"] == name) for p in points]
            assert solid.get_label() == name and solid.get_linestyle() == "-"
            assert dashed.get_linestyle() == "--"
            assert list(solid.get_xdata()) == [p["length"] for p in points]
            assert list(solid.get_ydata()) == [r["step_s"] * 1e3 for r in rows]
            assert list(dashed.get_ydata()) == [r["frontend_s"] * 1e3 for r in rows]
        assert ax.get_yscale() == "log"
        assert ax.get_xlabel() == "utterance length (s)"
        assert frontend.sweep_figure(report, "no_such_sweep") is None
    finally:
        plt.close(fig)


def test_gsgn_step_bench_reports_ratios_and_matching_reference(
    tmp_path, cache_dir, capsys
):
    out = tmp_path / "out"
    gsgn_step.main(
        [
            "--device", "cpu",
            "--upstream", "tiny",
            "--length", "0.5",
            "--batch_size", "2",
            "--dim", "16",
            "--model_dim", "16",
            "--heads", "2",
            "--linear_units", "32",
            "--encoder_blocks", "1",
            "--decoder_blocks", "1",
            "--vocab_size", "20",
            "--warmup", "0",
            "--repeats", "1",
            "--cache_dir", str(cache_dir),
            "--outdir", str(out),
            "--tag", "step",
        ]  # fmt: skip
    )
    data = json.loads((out / "step.json").read_text())
    assert {
        "benchmark",
        "machine",
        "settings",
        "params",
        "check",
        "variants",
        "memory",
        "ratios",
        "gate_grad",
    } <= set(data)
    assert set(data["variants"]) == set(gsgn_step.VARIANTS)
    for v in gsgn_step.VARIANTS:
        assert {"median_s", "min_s", "max_s", "times_s"} <= set(data["variants"][v])
        assert {"peak_bytes", "method"} <= set(data["memory"][v])
    names = {"gsgn / gated", "two_pass / gated", "two_pass / gsgn"}
    assert set(data["ratios"]) == set(data["ratios_of_min"]) == names
    assert len(data["gate_grad"]["times_s"]) == 1
    # the reference that is timed computes the same gradients as the one-pass module
    assert data["check"]["rel_diff"] < 1e-4
    assert data["check"]["gate_effect"] > 100 * data["check"]["max_abs_diff"]
    assert data["check"]["loss_gate_one_pass"] == pytest.approx(
        data["check"]["loss_gate_two_pass"], rel=1e-4
    )
    md = (out / "step.md").read_text()
    assert (
        "| variant | step median (ms) | step min (ms) | / gated | peak mem (MiB) |"
        in md
    )
    assert "| ratio | of medians | of minima |" in md
    assert "gsgn / gated" in capsys.readouterr().out
