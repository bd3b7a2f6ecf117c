"""Frontend benchmark: ESPnet's frontends against ``multiview`` on the same upstream.

Usage::

    # small default (tiny/small random HuBERTs, 2-8 s): < 10 min on a 2-core CPU
    python -m espnet2_ext.bench.frontend --outdir espnet2_ext/bench/results

    # the sweep meant for a GPU: Base (12x768) / Large (24x1024), 2-30 s, 1-3 upstreams
    python -m espnet2_ext.bench.frontend --preset full --device cuda --outdir out/

    # one point, no multi-upstream sweep: Base size, 10 s, batch 2
    python -m espnet2_ext.bench.frontend --upstream_sizes base --lengths 10 \\
        --batch_sizes 2 --num_upstreams --repeats 3 --tag frontend_base_10s_cpu

What one step is: forward of a batch of random waveforms, the loss ``mean_b (feats .
w)`` with a fixed random vector ``w``, and its backward (gradients of the trainable
parameters only). Every upstream is a random-weight HuBERT written by
:mod:`espnet2_ext.upstream.random_weights` and loaded through s3prl as ``hubert_local``;
one loaded instance per checkpoint is shared by all variants (same weights), frozen
(``requires_grad_(False)``, the equivalent of ESPnet's ``freeze_param:
[frontend.upstream]``) and kept in eval mode for all of them. ESPnet's
``S3prlFrontend`` then still runs its upstream with autograd enabled, but with no
parameter or input requiring grad it records no graph, like ours under ``no_grad``.

Variants (single upstream):

===================  ==================================================================
``espnet_fbank``     ESPnet ``DefaultFrontend`` (80 mel, 25/10 ms; no parameters, so
                     forward only)
``espnet_s3prl``     ESPnet ``S3prlFrontend``, ``multilayer_feature`` (weighted sum)
``espnet_fused``     ESPnet ``FusedFrontends``: FBank + S3prl, projection + concat
``ours_ws``          multiview, SSL only, weighted sum + projection
``ours_hconv``       multiview, SSL only, HConv + projection
``ours_concat``      multiview, FBank + SSL (weighted sum), concat fusion
``ours_gated``       multiview, GSGN gate with lambda = 0 (plain gated fusion)
``ours_gsgn``        multiview, GSGN, lambda = 1, one pass (the module's own backward)
``ours_gsgn_2pass``  the same module through the two-pass reference
                     (:mod:`espnet2_ext.bench.reference`)
===================  ==================================================================

With N upstreams (sweep ``num_upstreams``): ``ours_hconv_fusion`` (layer-aligned sum,
then HConv), ``ours_chconv`` (concat + shared projection, then HConv) and
``espnet_fused`` with FBank + N S3prl frontends.

Sweeps, one factor at a time around a base point (the first value of each list unless
``--base_*`` says otherwise): utterance length, batch size, upstream size, number of
upstreams. Every point reports the full step time (median of ``--repeats`` after
``--warmup``; variants interleaved), the frontend's own time (the same step with the
upstream replaced by its cached hidden states: FBank, layer interface, projections,
fusion and their backward), peak memory (see :mod:`espnet2_ext.bench.timing`) and
parameter counts. A point whose timing phase saw more than ``--max_cpu_wait`` CPU
wait (Linux PSI, see :mod:`espnet2_ext.bench.timing`) is timed again (``--retries``);
the share is reported in the ``CPU wait`` column. Output: ``<tag>.json``,
``<tag>.md`` and ``<tag>_<sweep>.png`` under ``--outdir``; the tables are also
printed.
"""

import argparse
import logging
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import torch

from espnet2_ext.bench import timing
from espnet2_ext.bench.reference import backward_step

log = logging.getLogger("espnet2_ext.bench")
SAMPLE_RATE = 16000
SINGLE_VARIANTS = (
    "espnet_fbank",
    "espnet_s3prl",
    "espnet_fused",
    "ours_ws",
    "ours_hconv",
    "ours_concat",
    "ours_gated",
    "ours_gsgn",
    "ours_gsgn_2pass",
)
MULTI_VARIANTS = ("espnet_fused", "ours_hconv_fusion", "ours_chconv")
SWEEPS = ("length", "batch", "upstream", "num_upstreams")

#: Defaults per preset; explicit flags override them.
PRESETS: Dict[str, Dict[str, Any]] = {
    "small": dict(
        upstream_sizes=["small", "tiny"],
        lengths=[4.0, 2.0, 8.0],
        batch_sizes=[2, 1, 4],
        num_upstreams=[1, 2, 3],
        warmup=2,
        repeats=7,
    ),
    "full": dict(
        upstream_sizes=["base", "tiny", "large"],
        lengths=[10.0, 2.0, 5.0, 20.0, 30.0],
        batch_sizes=[4, 1, 8],
        num_upstreams=[1, 2, 3],
        warmup=2,
        repeats=10,
    ),
}


# ------------------------------------------------------------------ upstreams
def checkpoint_path(cache_dir: Path, size: str, seed: int) -> Path:
    """A random-weight HuBERT of preset ``size`` (written once, then reused)."""
    from espnet2_ext.upstream.random_weights import write_dummy_hubert

    path = Path(cache_dir) / f"hubert_{size}_seed{seed}.pt"
    if not path.exists():
        log.info(f"writing {path}")
        write_dummy_hubert(path, preset=size, seed=seed)
    return path


@contextmanager
def shared_s3prl_upstreams(cache: Dict[Tuple[str, str], torch.nn.Module]) -> Iterator:
    """Makes every ``s3prl.nn.S3PRLUpstream(name, path_or_url)`` return one instance.

    ESPnet's frontends and ours both build their upstream through
    ``s3prl.nn.S3PRLUpstream``; while this is active, one object per checkpoint is
    built (RNG preserved) and handed to everyone, so all variants use the same weights
    and memory holds one copy.
    """
    import s3prl.nn

    from espnet2_ext.frontend.upstreams import preserved_rng

    original = s3prl.nn.S3PRLUpstream

    class _Shared:
        available_names = staticmethod(original.available_names)

        def __new__(cls, name, path_or_url=None, *args, **kwargs):
            key = (name, str(path_or_url))
            if key not in cache:
                with preserved_rng():
                    cache[key] = original(name, path_or_url, *args, **kwargs)
            return cache[key]

    s3prl.nn.S3PRLUpstream = _Shared
    try:
        yield cache
    finally:
        s3prl.nn.S3PRLUpstream = original


class CachedUpstream(torch.nn.Module):
    """Stands in for an ``S3PRLUpstream``, returning hidden states computed before."""

    def __init__(self, hidden_states: List[torch.Tensor], lengths: List[torch.Tensor]):
        super().__init__()
        self.hidden_states = hidden_states
        self.lengths = lengths

    def forward(self, speech: torch.Tensor, lengths: torch.Tensor):
        return list(self.hidden_states), list(self.lengths)


@contextmanager
def swapped_modules(
    root: torch.nn.Module, replace: Dict[int, torch.nn.Module]
) -> Iterator[None]:
    """Replaces submodules (by ``id``) of ``root`` everywhere; restores them after."""
    swapped = []
    for parent in list(root.modules()):
        for name, child in list(parent._modules.items()):
            if child is not None and id(child) in replace:
                parent._modules[name] = replace[id(child)]
                swapped.append((parent, name, child))
    try:
        yield
    finally:
        for parent, name, child in swapped:
            parent._modules[name] = child


# ------------------------------------------------------------------- variants
def _espnet_s3prl_conf(ckpt: Path) -> dict:
    return {"upstream": "hubert_local", "path_or_url": str(ckpt)}


def build_variant(
    name: str, ckpts: Sequence[Path], dim: int
) -> Tuple[torch.nn.Module, str]:
    """One frontend (call inside :func:`shared_s3prl_upstreams`).

    Returns:
        The frontend and the backward mode (``one_pass``/``two_pass``).
    """
    from espnet2.asr.frontend.default import DefaultFrontend
    from espnet2.asr.frontend.fused import FusedFrontends
    from espnet2.asr.frontend.s3prl import S3prlFrontend

    from espnet2_ext.frontend.multiview import FBANK_DEFAULTS, MultiViewFrontend

    if name == "espnet_fbank":
        return DefaultFrontend(fs=SAMPLE_RATE, **FBANK_DEFAULTS), "one_pass"
    if name == "espnet_s3prl":
        fe = S3prlFrontend(
            fs=SAMPLE_RATE,
            frontend_conf=_espnet_s3prl_conf(ckpts[0]),
            multilayer_feature=True,
        )
        fe.pretrained_params = {}  # the shared upstream is never re-initialised here
        return fe, "one_pass"
    if name == "espnet_fused":
        subs = [{"frontend_type": "default", **FBANK_DEFAULTS}] + [
            {
                "frontend_type": "s3prl",
                "frontend_conf": _espnet_s3prl_conf(c),
                "multilayer_feature": True,
            }
            for c in ckpts
        ]
        fe = FusedFrontends(frontends=subs, proj_dim=dim // 2, fs=SAMPLE_RATE)
        for sub in fe.frontends:
            if hasattr(sub, "pretrained_params"):
                sub.pretrained_params = {}
        return fe, "one_pass"
    upstreams = [{"name": "hubert_local", "path_or_url": str(c)} for c in ckpts]
    conf: Dict[str, Any] = dict(upstreams=upstreams, dim=dim)
    mode = "one_pass"
    if name == "ours_ws":
        conf.update(fusion="ssl", interface="weighted_sum")
    elif name == "ours_hconv":
        conf.update(fusion="ssl", interface="hconv")
    elif name == "ours_concat":
        conf.update(fusion="concat", interface="weighted_sum")
    elif name == "ours_gated":
        conf.update(fusion="gsgn", fusion_conf={"gate_loss_weight": 0.0})
    elif name in ("ours_gsgn", "ours_gsgn_2pass"):
        conf.update(fusion="gsgn", fusion_conf={"gate_loss_weight": 1.0})
        mode = "two_pass" if name == "ours_gsgn_2pass" else "one_pass"
    elif name == "ours_hconv_fusion":
        conf.update(fusion="ssl", interface="hconv", upstream_fusion="sum")
    elif name == "ours_chconv":
        conf.update(fusion="ssl", interface="hconv", upstream_fusion="concat")
    else:
        raise ValueError(f"unknown variant {name!r}")
    return MultiViewFrontend(**conf), mode


def make_step(
    frontend: torch.nn.Module,
    mode: str,
    speech: torch.Tensor,
    lengths: torch.Tensor,
    projection: torch.Tensor,
) -> Callable[[], None]:
    """One forward + backward of ``frontend`` on the batch (module docstring)."""

    def loss_fn() -> torch.Tensor:
        feats, _ = frontend(speech, lengths)
        return (feats * projection[: feats.size(-1)]).sum() / feats.size(0)

    def step() -> None:
        frontend.zero_grad(set_to_none=True)
        if not any(p.requires_grad for p in frontend.parameters()):
            with torch.no_grad():
                loss_fn()  # nothing to train (ESPnet's FBank): forward only
            return
        backward_step(frontend, loss_fn, mode)

    return step


# ---------------------------------------------------------------------- points
def make_batch(
    batch: int, seconds: float, device: torch.device, seed: int
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Random waveforms (B, S) of ``seconds`` each (fixed seed)."""
    samples = int(round(seconds * SAMPLE_RATE))
    g = torch.Generator().manual_seed(seed)
    speech = 0.1 * torch.randn(batch, samples, generator=g)
    lengths = torch.full((batch,), samples, dtype=torch.long)
    return speech.to(device), lengths.to(device)


def run_point(
    variants: Sequence[str],
    ckpts: Sequence[Path],
    seconds: float,
    batch: int,
    args: argparse.Namespace,
    device: torch.device,
) -> List[Dict[str, Any]]:
    """Builds the variants on shared upstreams and measures them on one batch."""
    cache: Dict[Tuple[str, str], torch.nn.Module] = {}
    frontends, modes = {}, {}
    with shared_s3prl_upstreams(cache):
        for name in variants:
            if name == "ours_gsgn_2pass" and "ours_gsgn" in frontends:
                frontends[name], modes[name] = frontends["ours_gsgn"], "two_pass"
                continue
            fe, modes[name] = build_variant(name, ckpts, args.dim)
            frontends[name] = fe.to(device).train()
    for upstream in cache.values():  # frozen and in eval mode for every variant
        upstream.to(device).requires_grad_(False).eval()
    speech, lengths = make_batch(batch, seconds, device, args.seed)
    g = torch.Generator().manual_seed(args.seed + 1)
    projection = torch.randn(4096, generator=g).to(device)
    steps = {
        n: make_step(frontends[n], modes[n], speech, lengths, projection)
        for n in variants
    }
    full, pressure = timing.interleaved_quiet(
        steps, args.warmup, args.repeats, device, args.max_cpu_wait, args.retries
    )

    cached = {}  # the frontend's own cost: upstream outputs precomputed
    with torch.no_grad():
        for upstream in cache.values():
            hs, hs_lens = upstream(speech, lengths)
            cached[id(upstream)] = CachedUpstream(list(hs), list(hs_lens))
    with ExitStack() as stack:
        for name in variants:
            stack.enter_context(swapped_modules(frontends[name], cached))
        own = timing.interleaved(steps, 1, args.repeats, device)

    rows = []
    for name in variants:
        memory = timing.peak_memory(steps[name], device)
        total, trainable = timing.count_parameters(frontends[name])
        upstream_params = sum(
            timing.count_parameters(u)[0]
            for u in cache.values()
            if any(u is m for m in frontends[name].modules())
        )
        rows.append(
            dict(
                variant=name,
                mode=modes[name],
                step=timing.summary(full[name]),
                frontend_only=timing.summary(own[name]),
                step_s=timing.median(full[name]),
                step_min_s=min(full[name]),
                cpu_pressure=pressure,
                frontend_s=timing.median(own[name]),
                peak_bytes=memory.peak_bytes,
                memory_method=memory.method,
                params_total=total,
                params_trainable=trainable,
                params_upstream=upstream_params,
                output_dim=frontends[name].output_size(),
            )
        )
    del frontends, steps, cache, cached
    return rows


def sweep_points(args: argparse.Namespace) -> List[Dict[str, Any]]:
    """The points of the one-factor sweeps, deduplicated, in run order."""
    base = dict(
        length=args.base_length,
        batch=args.base_batch,
        upstream=args.base_upstream,
        num_upstreams=1,
    )
    points: List[Dict[str, Any]] = []

    def add(sweep: str, **change) -> None:
        point = {**base, **change}
        multi = sweep == "num_upstreams"
        for p in points:
            same = all(p[k] == point[k] for k in base) and p["multi"] == multi
            if same:
                p["sweeps"].append(sweep)
                return
        points.append({**point, "multi": multi, "sweeps": [sweep]})

    for length in args.lengths:
        add("length", length=length)
    for batch in args.batch_sizes:
        add("batch", batch=batch)
    for size in args.upstream_sizes:
        add("upstream", upstream=size)
    for n in args.num_upstreams:
        add("num_upstreams", num_upstreams=n)
    return points


# ------------------------------------------------------------------- reporting
def ratio_rows(results: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Ratios of step times (and of the frontend's own times) per single point."""
    pairs = [
        ("ours_ws", "espnet_s3prl"),
        ("ours_gsgn", "espnet_s3prl"),
        ("ours_gsgn", "espnet_fused"),
        ("ours_concat", "espnet_fused"),
        ("ours_gsgn", "ours_gated"),
        ("ours_gsgn", "ours_concat"),
        ("ours_gsgn_2pass", "ours_gsgn"),
    ]
    rows = []
    for point in results:
        if point["multi"]:
            continue
        by_name = {r["variant"]: r for r in point["rows"]}
        for a, b in pairs:
            if a in by_name and b in by_name:
                rows.append(
                    dict(
                        upstream=point["upstream"],
                        length=point["length"],
                        batch=point["batch"],
                        ratio=f"{a} / {b}",
                        step=by_name[a]["step_s"] / by_name[b]["step_s"],
                        step_min=by_name[a]["step_min_s"] / by_name[b]["step_min_s"],
                        frontend=by_name[a]["frontend_s"] / by_name[b]["frontend_s"],
                    )
                )
    return rows


MAIN_COLUMNS: List[timing.Column] = [
    ("upstream", "upstream", timing.str_fmt),
    ("num_upstreams", "N", timing.str_fmt),
    ("length", "len (s)", lambda x: f"{x:g}"),
    ("batch", "B", timing.str_fmt),
    ("variant", "variant", timing.str_fmt),
    ("step_s", "step (ms)", timing.fmt_ms),
    ("step_min_s", "step min (ms)", timing.fmt_ms),
    ("frontend_s", "frontend only (ms)", timing.fmt_ms),
    ("peak_bytes", "peak mem (MiB)", timing.fmt_mib),
    ("params_total", "params", timing.fmt_count),
    ("params_trainable", "trainable", timing.fmt_count),
    ("cpu_pressure", "CPU wait", lambda x: f"{100 * x:.0f}%"),
]
RATIO_COLUMNS: List[timing.Column] = [
    ("upstream", "upstream", timing.str_fmt),
    ("length", "len (s)", lambda x: f"{x:g}"),
    ("batch", "B", timing.str_fmt),
    ("ratio", "ratio", timing.str_fmt),
    ("step", "step (median)", timing.fmt_ratio),
    ("step_min", "step (min)", timing.fmt_ratio),
    ("frontend", "frontend only (median)", timing.fmt_ratio),
]


def flat_rows(results: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """One row per (point, variant) for the main table."""
    rows = []
    for point in results:
        for r in point["rows"]:
            rows.append(
                dict(
                    r,
                    upstream=point["upstream"],
                    num_upstreams=point["num_upstreams"],
                    length=point["length"],
                    batch=point["batch"],
                    step_s=r["step_s"],
                    frontend_s=r["frontend_s"],
                )
            )
    return rows


def markdown_report(report: Dict[str, Any]) -> str:
    """The Markdown file: settings, main table, ratio table."""
    s = report["settings"]
    m = report["machine"]
    lines = [
        "# Frontend benchmark",
        "",
        f"Device: {m['device']} ({m.get('gpu', m['cpu'])}, {m['cpu_count']} CPU "
        f"cores, {m['torch_threads']} torch threads), torch {m['torch']}, "
        f"{m['date_utc']}.",
        f"Median of {s['repeats']} interleaved repeats after {s['warmup']} warm-up "
        f"call(s); one step = forward + backward. Memory: {report['memory_method']}.",
        "CPU wait: share of the timing phase in which some task waited for a CPU "
        "(Linux PSI; a noise indicator - high values mean the times are inflated).",
        "",
        "## Step time, frontend-only time, memory, parameters",
        "",
        timing.markdown_table(flat_rows(report["results"]), MAIN_COLUMNS),
        "",
        "## Ratios",
        "",
        timing.markdown_table(report["ratios"], RATIO_COLUMNS),
        "",
    ]
    return "\n".join(lines)


def plot_sweeps(report: Dict[str, Any], outdir: Path, tag: str) -> List[Path]:
    """One PNG per sweep of :func:`sweep_figure`; returns the paths written."""
    import matplotlib.pyplot as plt

    written = []
    for sweep in SWEEPS:
        fig = sweep_figure(report, sweep)
        if fig is None:
            continue
        path = outdir / f"{tag}_{sweep}.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)
    return written


_SWEEP_AXES = {
    "length": ("length", "utterance length (s)"),
    "batch": ("batch", "batch size"),
    "upstream": ("upstream", "upstream size"),
    "num_upstreams": ("num_upstreams", "number of upstreams"),
}


def sweep_figure(report: Dict[str, Any], sweep: str):
    """Median step time (solid, labelled by variant) and frontend-only time (dashed)
    of every variant over one sweep, in ms on a log scale.

    Returns:
        The ``matplotlib.figure.Figure`` (close it with ``plt.close(fig)``), or None
        when the report has no point of ``sweep``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = [p for p in report["results"] if sweep in p["sweeps"]]
    if not points:
        return None
    key, label = _SWEEP_AXES[sweep]
    xs = [p[key] for p in points]
    positions = list(range(len(xs))) if sweep == "upstream" else xs
    fig, ax = plt.subplots(figsize=(7, 4.5))
    names = [r["variant"] for r in points[0]["rows"]]
    for i, name in enumerate(names):
        color = f"C{i % 10}"
        step = [
            next(r["step_s"] for r in p["rows"] if r["variant"] == name) * 1e3
            for p in points
        ]
        own = [
            next(r["frontend_s"] for r in p["rows"] if r["variant"] == name) * 1e3
            for p in points
        ]
        ax.plot(positions, step, "o-", color=color, label=name)
        ax.plot(positions, own, "x--", color=color, alpha=0.6)
    ax.set_xticks(positions, [f"{x:g}" if sweep == "length" else str(x) for x in xs])
    ax.set_xlabel(label)
    ax.set_ylabel("median step time (ms)")
    ax.set_yscale("log")
    ax.set_title(
        f"{sweep} sweep ({report['machine']['device']}); dashed: frontend only"
    )
    ax.legend(fontsize=7, ncol=2)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------- main
def get_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parses the command line (preset values fill what is not given)."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--preset", choices=sorted(PRESETS), default="small")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1")
    parser.add_argument(
        "--upstream_sizes", nargs="+", default=None, help="tiny small base large"
    )
    parser.add_argument("--lengths", nargs="+", type=float, default=None)
    parser.add_argument("--batch_sizes", nargs="+", type=int, default=None)
    parser.add_argument(
        "--num_upstreams",
        nargs="*",
        type=int,
        default=None,
        help="upstream counts of the multi-upstream sweep; no value: skip it",
    )
    parser.add_argument("--base_length", type=float, default=None)
    parser.add_argument("--base_batch", type=int, default=None)
    parser.add_argument("--base_upstream", default=None)
    parser.add_argument(
        "--variants", nargs="+", default=None, help="subset of the single variants"
    )
    parser.add_argument("--warmup", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--dim", type=int, default=256, help="our frontend's width D")
    parser.add_argument(
        "--max_cpu_wait",
        type=float,
        default=0.25,
        help="re-time a point whose CPU wait share (PSI) exceeds this",
    )
    parser.add_argument("--retries", type=int, default=2, help="re-timings per point")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument(
        "--cache_dir",
        type=Path,
        default=Path.home() / ".cache" / "espnet2_ext" / "bench",
        help="where the random-weight checkpoints are written once",
    )
    parser.add_argument("--outdir", type=Path, default=Path("exp/bench"))
    parser.add_argument("--tag", default=None, help="file prefix (frontend_<device>)")
    parser.add_argument("--no_plots", action="store_true")
    args = parser.parse_args(argv)
    for key, value in PRESETS[args.preset].items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.base_length = args.base_length or args.lengths[0]
    args.base_batch = args.base_batch or args.batch_sizes[0]
    args.base_upstream = args.base_upstream or args.upstream_sizes[0]
    args.variants = args.variants or list(SINGLE_VARIANTS)
    unknown = sorted(set(args.variants) - set(SINGLE_VARIANTS))
    if unknown:
        parser.error(f"unknown variants {unknown}; choose from {SINGLE_VARIANTS}")
    return args


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    """Runs the sweeps, writes JSON/Markdown/PNGs, prints the tables.

    Returns:
        The report (what the JSON file holds).
    """
    args = get_args(argv)
    device = timing.prepare(args.device, args.threads)
    tag = args.tag or f"frontend_{device.type}"
    results = []
    for point in sweep_points(args):
        n = point["num_upstreams"]
        ckpts = [
            checkpoint_path(args.cache_dir, point["upstream"], seed)
            for seed in range(n)
        ]
        variants = MULTI_VARIANTS if point["multi"] else args.variants
        log.info(
            f"point {point['sweeps']}: {point['upstream']} x{n}, "
            f"{point['length']:g} s, batch {point['batch']}"
        )
        rows = run_point(variants, ckpts, point["length"], point["batch"], args, device)
        results.append({**point, "rows": rows})
    methods = {r["memory_method"] for p in results for r in p["rows"]}
    report = dict(
        benchmark="frontend",
        machine=timing.machine_info(device),
        settings={k: v for k, v in vars(args).items() if k != "cache_dir"},
        memory_method="; ".join(sorted(methods)),
        loss="mean over the batch of sum_t feats_t . w (fixed random w)",
        results=results,
    )
    report["ratios"] = ratio_rows(results)
    args.outdir.mkdir(parents=True, exist_ok=True)
    timing.write_json(args.outdir / f"{tag}.json", report)
    text = markdown_report(report)
    (args.outdir / f"{tag}.md").write_text(text, encoding="utf-8")
    if not args.no_plots:
        report["plots"] = [str(p) for p in plot_sweeps(report, args.outdir, tag)]
    print(text)
    return report


if __name__ == "__main__":
    main()
