"""Shared benchmark helpers: timing, peak memory, parameter counts, JSON and Markdown.

Usage::

    from espnet2_ext.bench import timing

    device = timing.resolve_device("auto")            # cuda when present, else cpu
    times = timing.interleaved({"a": step_a, "b": step_b}, warmup=1, repeats=5,
                               device=device)           # {"a": [s, ...], "b": [...]}
    timing.median(times["a"])
    mem = timing.peak_memory(step_a, device)          # MemoryResult(bytes, method)
    print(timing.markdown_table(rows, columns))

Timing: every call is bracketed by a device synchronisation
(``torch.cuda.synchronize``) and timed with ``time.perf_counter``; the statistic is the
median over the repeats after warm-up calls. Variants are interleaved (A B C, B C A,
C A B, ...) so that slow drift of a shared machine hits all of them alike.

Noise: :class:`PressureMeter` reads Linux pressure-stall information
(``/proc/pressure/cpu``): the share of wall time in which some runnable task waited for
a CPU. On a quiet machine it stays at a few percent; when other work competes for the
cores it rises and the times are inflated. :func:`interleaved_quiet` times again (up to
``retries`` times) while that share exceeds a threshold and keeps the quietest attempt;
the benchmarks record the share next to their times.

Peak memory:

- CUDA: ``torch.cuda.max_memory_allocated`` after ``reset_peak_memory_stats``, minus
  what was allocated before the step (the step's own peak; weights and the upstream
  are not included).
- CPU (Linux): growth of the peak resident set size during the step. The kernel's
  high-water mark ``VmHWM`` is reset to the current RSS by writing ``5`` to
  ``/proc/self/clear_refs``; the step's peak is ``VmHWM`` after it minus ``VmRSS``
  before it. Before the step, glibc is told not to keep large freed blocks in its heap
  (fixed ``M_MMAP_THRESHOLD``) and to return free heap memory (``malloc_trim``), so
  memory freed by earlier steps does not hide the step's allocations. It is RSS, not
  tensor bytes: it includes allocator overhead and anything else the process touches
  meanwhile. Where ``clear_refs`` cannot be written the result is ``None`` ("n/a").
"""

import ctypes
import datetime
import gc
import json
import logging
import os
import platform
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import torch

from espnet2_ext.utils import log

_M_MMAP_THRESHOLD = -3  # glibc mallopt parameter
_MMAP_THRESHOLD_BYTES = 128 * 1024


def setup_logging() -> None:
    """INFO messages of ``espnet2_ext.bench``; warnings only from everything else."""
    log.setup_logging(logging.WARNING)
    logging.getLogger("espnet2_ext.bench").setLevel(logging.INFO)


def prepare(device: str = "auto", threads: Optional[int] = None) -> torch.device:
    """Logging, torch's thread count (if given) and the device of a benchmark run."""
    setup_logging()
    if threads:
        torch.set_num_threads(threads)
    return resolve_device(device)


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` -> ``cuda`` when available, else ``cpu``; other names pass through.

    Raises:
        RuntimeError: When ``cuda`` is asked for and none is available.
    """
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda was given but no CUDA device is available")
    return device


def synchronize(device: torch.device) -> None:
    """Waits for queued kernels on a CUDA device (no-op on CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_call(fn: Callable[[], Any], device: torch.device) -> float:
    """Seconds one call of ``fn`` takes, with device synchronisation on both sides."""
    synchronize(device)
    start = time.perf_counter()
    fn()
    synchronize(device)
    return time.perf_counter() - start


def interleaved(
    fns: Dict[str, Callable[[], Any]],
    warmup: int,
    repeats: int,
    device: torch.device,
) -> Dict[str, List[float]]:
    """Times several variants in interleaved, rotating order.

    Each variant is first called ``warmup`` times (untimed). Round ``r`` then calls
    every variant once, starting with variant ``r mod n`` (A B C, B C A, C A B, ...).

    Args:
        fns: Variant name -> a zero-argument callable doing one step.
        warmup: Untimed calls per variant before timing.
        repeats: Timed calls per variant.
        device: Device to synchronise.

    Returns:
        Variant name -> list of ``repeats`` durations in seconds.
    """
    names = list(fns)
    for name in names:
        for _ in range(warmup):
            fns[name]()
    times: Dict[str, List[float]] = {name: [] for name in names}
    for r in range(repeats):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            times[name].append(time_call(fns[name], device))
    return times


def cpu_pressure_us() -> Optional[int]:
    """Linux PSI: total microseconds some runnable task waited for a CPU (or None)."""
    try:
        with open("/proc/pressure/cpu") as f:
            for line in f:
                if line.startswith("some"):
                    return int(line.rsplit("total=", 1)[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


class PressureMeter:
    """Share of wall time in which some task waited for a CPU (noise indicator).

    ``with PressureMeter() as m: ...`` then ``m.share`` (0..1, None without PSI).
    The benchmark's own threads count too when they outnumber the cores.
    """

    def __enter__(self) -> "PressureMeter":
        self.share: Optional[float] = None
        self._start = (time.perf_counter(), cpu_pressure_us())
        return self

    def __exit__(self, *exc) -> None:
        wall, stall = time.perf_counter(), cpu_pressure_us()
        if stall is not None and self._start[1] is not None:
            elapsed = max(wall - self._start[0], 1e-9)
            self.share = (stall - self._start[1]) / 1e6 / elapsed


def interleaved_quiet(
    fns: Dict[str, Callable[[], Any]],
    warmup: int,
    repeats: int,
    device: torch.device,
    max_cpu_wait: float = 0.25,
    retries: int = 2,
) -> Tuple[Dict[str, List[float]], Optional[float]]:
    """:func:`interleaved`, repeated while the machine was busy (PSI CPU wait).

    When the share of time some task waited for a CPU exceeds ``max_cpu_wait``, the
    timing is repeated (warm-up included) up to ``retries`` times and the attempt
    with the least waiting is kept.

    Returns:
        The times (as :func:`interleaved`) and the kept attempt's CPU wait share
        (None without PSI).
    """
    best: Optional[Tuple[Dict[str, List[float]], Optional[float]]] = None
    for attempt in range(retries + 1):
        with PressureMeter() as meter:
            times = interleaved(fns, warmup, repeats, device)
        if best is None or (meter.share or 0.0) < (best[1] or 0.0):
            best = (times, meter.share)
        if meter.share is None or meter.share <= max_cpu_wait:
            break
        logging.getLogger("espnet2_ext.bench").warning(
            f"CPU wait {100 * meter.share:.0f}% > {100 * max_cpu_wait:.0f}%: "
            + ("timing again" if attempt < retries else "keeping the quietest attempt")
        )
    return best


def median(values: Sequence[float]) -> float:
    """Median of a non-empty sequence."""
    return float(statistics.median(values))


def summary(values: Sequence[float]) -> Dict[str, float]:
    """Median, min, max and all values (seconds) of a list of durations."""
    return {
        "median_s": median(values),
        "min_s": float(min(values)),
        "max_s": float(max(values)),
        "times_s": [float(v) for v in values],
    }


# ------------------------------------------------------------------------ memory
@dataclass
class MemoryResult:
    """Peak memory of one step: bytes (None when it cannot be measured) and how."""

    peak_bytes: Optional[int]
    method: str


CUDA_MEMORY_METHOD = "cuda max_memory_allocated during the step minus allocated before"
CPU_MEMORY_METHOD = "cpu peak RSS growth (VmHWM after /proc/self/clear_refs reset)"


def _proc_status_kib(key: str) -> Optional[int]:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak_rss() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _release_free_heap() -> None:
    """Fixed mmap threshold and ``malloc_trim(0)`` (glibc only; no-op elsewhere)."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_BYTES)
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        pass


def cpu_rss_measurable() -> bool:
    """Whether the peak-RSS reset of :func:`peak_memory` works on this machine."""
    return _proc_status_kib("VmHWM") is not None and _reset_peak_rss()


def peak_memory(fn: Callable[[], Any], device: torch.device) -> MemoryResult:
    """Peak extra memory of one call of ``fn`` (see the module docstring)."""
    gc.collect()
    if device.type == "cuda":
        synchronize(device)
        before = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        fn()
        synchronize(device)
        peak = torch.cuda.max_memory_allocated(device) - before
        return MemoryResult(int(peak), CUDA_MEMORY_METHOD)
    _release_free_heap()
    before = _proc_status_kib("VmRSS")
    if before is None or not _reset_peak_rss():
        fn()
        return MemoryResult(None, "n/a (no /proc/self/clear_refs)")
    fn()
    peak = _proc_status_kib("VmHWM")
    return MemoryResult(max(0, (peak - before) * 1024), CPU_MEMORY_METHOD)


# ---------------------------------------------------------------------- counting
def count_parameters(module: torch.nn.Module) -> Tuple[int, int]:
    """(total, trainable) parameter counts; shared parameters counted once."""
    params = list(module.parameters())
    total = sum(p.numel() for p in params)
    trainable = sum(p.numel() for p in params if p.requires_grad)
    return int(total), int(trainable)


# ------------------------------------------------------------------------ output
def machine_info(device: torch.device) -> Dict[str, Any]:
    """Facts about where the benchmark ran (for the JSON header)."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    info = {
        "date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"
        ),
        "device": str(device),
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, MemoryResult):
        return asdict(obj)
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, torch.Tensor):
        return obj.tolist()
    if isinstance(obj, float) and obj != obj:  # NaN is not JSON
        return None
    return obj


def write_json(path: Union[str, Path], data: Any) -> Path:
    """Writes ``data`` as indented JSON (NaN -> null, paths -> strings)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_jsonable(data), indent=2) + "\n", encoding="utf-8")
    return path


Column = Tuple[str, str, Callable[[Any], str]]  # (key, header, formatter)


def markdown_table(rows: Sequence[Dict[str, Any]], columns: Sequence[Column]) -> str:
    """A GitHub Markdown table; a missing or None value prints as ``n/a``."""
    headers = [header for _, header, _ in columns]
    lines = [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join("---" for _ in headers) + "|",
    ]
    for row in rows:
        cells = []
        for key, _, fmt in columns:
            value = row.get(key)
            cells.append("n/a" if value is None else fmt(value))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def fmt_ms(seconds: float) -> str:
    """Seconds -> milliseconds with 3 significant digits."""
    return f"{seconds * 1e3:.3g}"


def fmt_mib(num_bytes: float) -> str:
    """Bytes -> MiB, one decimal."""
    return f"{num_bytes / 2**20:.1f}"


def fmt_count(n: float) -> str:
    """Parameter count: ``12.35M``, ``4.1k`` or the plain number."""
    if n >= 1e6:
        return f"{n / 1e6:.2f}M"
    if n >= 1e3:
        return f"{n / 1e3:.1f}k"
    return str(int(n))


def fmt_ratio(x: float) -> str:
    """A ratio with 3 decimals and a trailing x."""
    return f"{x:.3f}x"


def str_fmt(x: Any) -> str:
    """``str``, as a column formatter."""
    return str(x)
