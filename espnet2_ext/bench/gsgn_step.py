"""GSGN training step: one pass vs. plain gated fusion vs. the two-pass reference.

Usage::

    # small default (4-layer 128-wide random HuBERT, 4 s, batch 2): a few minutes on CPU
    python -m espnet2_ext.bench.gsgn_step --outdir espnet2_ext/bench/results

    # the target setting: HuBERT-Base-sized random upstream, 10 s utterances
    python -m espnet2_ext.bench.gsgn_step --preset base \
        --outdir espnet2_ext/bench/results

    # on a GPU
    python -m espnet2_ext.bench.gsgn_step --preset base --device cuda --batch_size 8

One step is a whole ST training step of ESPnet's ``ESPnetSTModel``, built by
``MultiViewSTTask.build_model`` from a config: the ``multiview`` frontend (FBank +
frozen random-weight HuBERT through s3prl, weighted sum, GSGN fusion), utterance MVN,
a Transformer encoder and decoder, the label-smoothed attention loss, backward and an
Adam step. The three variants run on **one** model object (same weights, same batch),
interleaved (A B C, B C A, ...):

- ``gated``: plain gated fusion, ``gate_loss_weight = 0`` (no gradient products);
- ``gsgn``: GSGN with lambda = 1, gate loss inside the ordinary backward (one pass);
- ``two_pass``: the reference of :mod:`espnet2_ext.bench.reference` (a first
  ``autograd.grad`` through encoder, decoder and loss for ``delta``, then task + gate
  loss backward).

Before timing, both GSGN implementations are run once on the same weights to check
that they give the same gradients (reported as ``check``). After timing, the time
spent in GSGN's own backward work (per-view gradients, cosines, targets: the
``_gate_loss_grad`` call inside the fusion layer's backward) is measured separately.
Timing is repeated once when the CPU wait share (Linux PSI) exceeds ``--max_cpu_wait``.
Output: ``<tag>.json`` and ``<tag>.md`` under ``--outdir``; the table is printed.
"""

import argparse
import logging
import tempfile
import time
from contextlib import contextmanager, nullcontext
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence

import torch
import yaml

from espnet2_ext.bench import timing
from espnet2_ext.bench.frontend import checkpoint_path, make_batch
from espnet2_ext.bench.reference import (
    backward_step,
    compare_gradients,
    find_gated_fusion,
    gate_loss_disabled,
)

log = logging.getLogger("espnet2_ext.bench")
VARIANTS = ("gated", "gsgn", "two_pass")

#: Defaults per preset; explicit flags override them.
PRESETS: Dict[str, Dict[str, Any]] = {
    "small": dict(
        upstream="small",
        length=4.0,
        batch_size=2,
        dim=128,
        model_dim=128,
        heads=4,
        linear_units=512,
        encoder_blocks=2,
        decoder_blocks=1,
        warmup=1,
        repeats=5,
    ),
    "base": dict(
        upstream="base",
        length=10.0,
        batch_size=2,
        dim=256,
        model_dim=256,
        heads=4,
        linear_units=1024,
        encoder_blocks=6,
        decoder_blocks=3,
        warmup=1,
        repeats=7,
    ),
}


def st_config(args: argparse.Namespace, ckpt: Path) -> Dict[str, Any]:
    """The ST model config (ESPnet ``st_train`` YAML keys)."""
    dropout = args.dropout
    return dict(
        frontend="multiview",
        frontend_conf=dict(
            upstreams=[{"name": "hubert_local", "path_or_url": str(ckpt)}],
            interface=args.interface,
            rate="ssl",
            dim=args.dim,
            fusion="gsgn",
            fusion_conf={"gate_loss_weight": args.gate_loss_weight},
        ),
        normalize="utterance_mvn",
        encoder="transformer",
        encoder_conf=dict(
            output_size=args.model_dim,
            attention_heads=args.heads,
            linear_units=args.linear_units,
            num_blocks=args.encoder_blocks,
            input_layer="linear",
            dropout_rate=dropout,
            attention_dropout_rate=dropout,
        ),
        decoder="transformer",
        decoder_conf=dict(
            attention_heads=args.heads,
            linear_units=args.linear_units,
            num_blocks=args.decoder_blocks,
            dropout_rate=dropout,
            self_attention_dropout_rate=dropout,
            src_attention_dropout_rate=dropout,
        ),
        model_conf=dict(
            asr_weight=0.0,
            mt_weight=0.0,
            mtlalpha=0.0,
            lsm_weight=0.1,
            extract_feats_in_collect_stats=False,
        ),
    )


def build_model(args: argparse.Namespace, ckpt: Path, workdir: Path) -> torch.nn.Module:
    """``MultiViewSTTask.build_model`` on a parsed config, synthetic vocabulary."""
    from espnet2_ext.tasks.st import MultiViewSTTask

    tokens = ["<blank>", "<unk>"] + [f"t{i}" for i in range(args.vocab_size - 3)]
    token_list = workdir / "tokens.txt"
    token_list.write_text("\n".join(tokens + ["<sos/eos>"]) + "\n", encoding="utf-8")
    config = workdir / "config.yaml"
    config.write_text(yaml.safe_dump(st_config(args, ckpt)), encoding="utf-8")
    parser = MultiViewSTTask.get_parser()
    task_args = parser.parse_args(
        [
            "--config", str(config),
            "--token_list", str(token_list),
            "--src_token_list", str(token_list),
            "--output_dir", str(workdir / "exp"),
        ]  # fmt: skip
    )
    torch.manual_seed(args.seed)
    return MultiViewSTTask.build_model(task_args)


def make_st_batch(
    args: argparse.Namespace, device: torch.device
) -> Dict[str, torch.Tensor]:
    """Random waveforms and random target/source token ids (fixed seed)."""
    speech, speech_lengths = make_batch(args.batch_size, args.length, device, args.seed)
    n_tokens = max(2, int(round(args.tokens_per_second * args.length)))
    g = torch.Generator().manual_seed(args.seed + 2)
    high = args.vocab_size - 1  # ids 1 .. vocab-2: no <blank>, no <sos/eos>

    def tokens() -> torch.Tensor:
        return torch.randint(1, high, (args.batch_size, n_tokens), generator=g)

    lengths = torch.full((args.batch_size,), n_tokens, dtype=torch.long)
    return dict(
        speech=speech,
        speech_lengths=speech_lengths,
        text=tokens().to(device),
        text_lengths=lengths.to(device),
        src_text=tokens().to(device),
        src_text_lengths=lengths.to(device),
    )


def make_steps(
    model: torch.nn.Module,
    batch: Dict[str, torch.Tensor],
    optimizer: Optional[torch.optim.Optimizer],
) -> Dict[str, Callable[[], None]]:
    """One training step per variant, all on ``model``."""
    fusion = find_gated_fusion(model)

    def loss_fn() -> torch.Tensor:
        return model(**batch)[0]

    def step_for(variant: str) -> Callable[[], None]:
        mode = "two_pass" if variant == "two_pass" else "one_pass"

        def step() -> None:
            model.zero_grad(set_to_none=True)
            ctx = gate_loss_disabled(fusion) if variant == "gated" else nullcontext()
            with ctx:
                backward_step(model, loss_fn, mode)
            if optimizer is not None:
                optimizer.step()

        return step

    return {v: step_for(v) for v in VARIANTS}


@contextmanager
def timed_gate_grad(device: torch.device) -> Iterator[List[float]]:
    """Records the duration of every ``_gate_loss_grad`` call (GSGN's backward work)."""
    from espnet2_ext.frontend import gsgn as gsgn_mod

    original = gsgn_mod._gate_loss_grad
    durations: List[float] = []

    def wrapped(*args, **kwargs):
        timing.synchronize(device)
        start = time.perf_counter()
        out = original(*args, **kwargs)
        timing.synchronize(device)
        durations.append(time.perf_counter() - start)
        return out

    gsgn_mod._gate_loss_grad = wrapped
    try:
        yield durations
    finally:
        gsgn_mod._gate_loss_grad = original


def markdown_report(report: Dict[str, Any]) -> str:
    """Settings line, variant table, ratio table."""
    s, m = report["settings"], report["machine"]
    rows = [
        dict(
            variant=v,
            median=report["variants"][v]["median_s"],
            min=report["variants"][v]["min_s"],
            vs_gated=report["variants"][v]["median_s"]
            / report["variants"]["gated"]["median_s"],
            peak=report["memory"][v]["peak_bytes"],
        )
        for v in VARIANTS
    ]
    columns: List[timing.Column] = [
        ("variant", "variant", timing.str_fmt),
        ("median", "step median (ms)", timing.fmt_ms),
        ("min", "step min (ms)", timing.fmt_ms),
        ("vs_gated", "/ gated", timing.fmt_ratio),
        ("peak", "peak mem (MiB)", timing.fmt_mib),
    ]
    ratio_rows = [
        dict(ratio=k, value=v, of_min=report["ratios_of_min"][k])
        for k, v in report["ratios"].items()
    ]
    ratio_columns: List[timing.Column] = [
        ("ratio", "ratio", timing.str_fmt),
        ("value", "of medians", timing.fmt_ratio),
        ("of_min", "of minima", timing.fmt_ratio),
    ]
    check = report["check"]
    gate = report["gate_grad"]
    lines = [
        "# GSGN training-step benchmark",
        "",
        f"Device: {m['device']} ({m.get('gpu', m['cpu'])}, {m['cpu_count']} CPU "
        f"cores, {m['torch_threads']} torch threads), torch {m['torch']}, "
        f"{m['date_utc']}.",
        f"Upstream: random-weight HuBERT `{s['upstream']}` (frozen), "
        f"{s['length']:g} s utterances, batch {s['batch_size']}, frontend D "
        f"{s['dim']} ({s['interface']}), ST Transformer {s['encoder_blocks']} enc / "
        f"{s['decoder_blocks']} dec blocks, d {s['model_dim']}, ff "
        f"{s['linear_units']}, vocab {s['vocab_size']}; "
        f"{report['params']['trainable']:,} trainable of "
        f"{report['params']['total']:,} parameters.",
        f"Median of {s['repeats']} interleaved repeats after {s['warmup']} warm-up "
        f"step(s); step = forward + loss + backward"
        + (" + Adam step." if s["optimizer_step"] else ".")
        + f" Memory: {report['memory']['gsgn']['method']}."
        + (
            ""
            if report["cpu_pressure"] is None
            else f" CPU wait during timing (PSI): {100 * report['cpu_pressure']:.0f}%."
        ),
        "",
        timing.markdown_table(rows, columns),
        "",
        timing.markdown_table(ratio_rows, ratio_columns),
        "",
        f"GSGN's own backward work (`_gate_loss_grad`: per-view gradients, cosines, "
        f"targets): median {timing.fmt_ms(gate['median_s'])} ms per step "
        f"({100 * gate['share_of_gsgn_step']:.2f}% of the GSGN step).",
    ]
    if check is not None:
        lines.append(
            f"Check, one pass vs. two-pass reference on the same weights: max |grad "
            f"diff| {check['max_abs_diff']:.3g} (max |grad| "
            f"{check['max_abs_grad']:.3g}, relative {check['rel_diff']:.2g}; the gate "
            f"loss itself moves gradients by up to {check['gate_effect']:.3g}); "
            f"loss_gate {check['loss_gate_one_pass']:.6g} vs "
            f"{check['loss_gate_two_pass']:.6g}."
        )
    return "\n".join(lines) + "\n"


def get_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parses the command line (preset values fill what is not given)."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--preset", choices=sorted(PRESETS), default="small")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1")
    parser.add_argument("--upstream", default=None, help="tiny small base large")
    parser.add_argument("--length", type=float, default=None, help="seconds")
    parser.add_argument("--batch_size", type=int, default=None)
    parser.add_argument("--dim", type=int, default=None, help="frontend width D")
    parser.add_argument("--interface", default="weighted_sum")
    parser.add_argument("--model_dim", type=int, default=None)
    parser.add_argument("--heads", type=int, default=None)
    parser.add_argument("--linear_units", type=int, default=None)
    parser.add_argument("--encoder_blocks", type=int, default=None)
    parser.add_argument("--decoder_blocks", type=int, default=None)
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--vocab_size", type=int, default=500)
    parser.add_argument("--tokens_per_second", type=float, default=5.0)
    parser.add_argument("--gate_loss_weight", type=float, default=1.0)
    parser.add_argument(
        "--no_optimizer_step",
        dest="optimizer_step",
        action="store_false",
        help="leave out the Adam step",
    )
    parser.add_argument("--no_check", dest="check", action="store_false")
    parser.add_argument(
        "--max_cpu_wait",
        type=float,
        default=0.25,
        help="time again when the CPU wait share (PSI) exceeds this",
    )
    parser.add_argument("--retries", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument(
        "--cache_dir",
        type=Path,
        default=Path.home() / ".cache" / "espnet2_ext" / "bench",
        help="where the random-weight checkpoints are written once",
    )
    parser.add_argument("--outdir", type=Path, default=Path("exp/bench"))
    parser.add_argument("--tag", default=None, help="file prefix")
    args = parser.parse_args(argv)
    for key, value in PRESETS[args.preset].items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.gate_loss_weight <= 0:
        parser.error("--gate_loss_weight must be > 0 (the gated variant is lambda 0)")
    return args


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    """Builds the model, checks, times the three variants, writes JSON/Markdown.

    Returns:
        The report (what the JSON file holds).
    """
    args = get_args(argv)
    device = timing.prepare(args.device, args.threads)
    tag = args.tag or f"gsgn_step_{args.preset}_{device.type}"
    ckpt = checkpoint_path(args.cache_dir, args.upstream, args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        model = build_model(args, ckpt, Path(tmp)).to(device).train()
    batch = make_st_batch(args, device)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(trainable, lr=1e-4) if args.optimizer_step else None
    total, n_trainable = timing.count_parameters(model)

    check = None
    if args.check:  # before any optimizer step: both modes on identical weights
        log.info("checking one pass against the two-pass reference")
        check = compare_gradients(model, lambda: model(**batch)[0], seed=args.seed)

    steps = make_steps(model, batch, optimizer)
    log.info(f"timing {VARIANTS}: {args.warmup} warm-up + {args.repeats} repeats each")
    times, pressure = timing.interleaved_quiet(
        steps, args.warmup, args.repeats, device, args.max_cpu_wait, args.retries
    )
    memory = {v: asdict(timing.peak_memory(steps[v], device)) for v in VARIANTS}
    with timed_gate_grad(device) as gate_times:
        for _ in range(args.repeats):
            steps["gsgn"]()

    medians = {v: timing.median(times[v]) for v in VARIANTS}
    mins = {v: min(times[v]) for v in VARIANTS}
    report = dict(
        benchmark="gsgn_step",
        machine=timing.machine_info(device),
        settings={k: v for k, v in vars(args).items() if k != "cache_dir"},
        params=dict(total=total, trainable=n_trainable),
        check=check,
        variants={v: timing.summary(times[v]) for v in VARIANTS},
        memory=memory,
        ratios={
            "gsgn / gated": medians["gsgn"] / medians["gated"],
            "two_pass / gated": medians["two_pass"] / medians["gated"],
            "two_pass / gsgn": medians["two_pass"] / medians["gsgn"],
        },
        ratios_of_min={
            "gsgn / gated": mins["gsgn"] / mins["gated"],
            "two_pass / gated": mins["two_pass"] / mins["gated"],
            "two_pass / gsgn": mins["two_pass"] / mins["gsgn"],
        },
        cpu_pressure=pressure,
        gate_grad=dict(
            timing.summary(gate_times),
            share_of_gsgn_step=timing.median(gate_times) / medians["gsgn"],
        ),
    )
    args.outdir.mkdir(parents=True, exist_ok=True)
    timing.write_json(args.outdir / f"{tag}.json", report)
    text = markdown_report(report)
    (args.outdir / f"{tag}.md").write_text(text, encoding="utf-8")
    print(text)
    return report


if __name__ == "__main__":
    main()
