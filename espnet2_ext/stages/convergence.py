"""Epoch of convergence, seed groups and the comparison's claims, for the report.

ESPnet decodes with the average of the ``keep_nbest_models`` best epochs by
``best_model_criterion`` (both in ``<exp>/config.yaml``, e.g. ``[valid, acc, max]``
and 10). The *epoch of convergence* of a model is the last (largest) of those epochs:
training until then was needed to get the model that is decoded. The best epochs are
ranked as ESPnet's ``Reporter.sort_epochs_and_values`` ranks them (a stable sort, so
of equal values the earlier epoch ranks first).

Runs of one model with different seeds (``<model>..._seed<N>``) are grouped; a group
shows the mean and the sample standard deviation. An effect (a difference of means)
no larger than the larger of the two groups' standard deviations is reported as not
distinguishable from seed noise; with one run per model the noise is not measured
and the claims say so.
"""

import math
import re
from pathlib import Path
from statistics import mean, stdev
from typing import Dict, List, Optional, Sequence, Tuple

#: ``(phase, key, mode)``, e.g. ``("valid", "acc", "max")``.
Criterion = Tuple[str, str, str]

#: The default seed grouping: ``fbank_only_de_seed2`` -> ``fbank_only_de``.
SEED_GROUP = r"^(.+)_seed\d+$"


def read_training_config(exp: Path) -> Tuple[List[Criterion], Optional[int]]:
    """``best_model_criterion`` and the largest ``keep_nbest_models`` of an exp dir.

    Without ``config.yaml`` (ESPnet writes it when training starts): ``([], None)``.
    """
    config = exp / "config.yaml"
    if not config.exists():
        return [], None
    import yaml

    data = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    criteria = [tuple(c) for c in data.get("best_model_criterion") or []]
    nbest = data.get("keep_nbest_models")
    if isinstance(nbest, (list, tuple)):
        nbest = max(nbest) if nbest else None
    return criteria, nbest


def criterion_values(
    stats: Dict[int, Dict[str, Dict[str, float]]], phase: str, key: str
) -> Dict[int, float]:
    """``{epoch: value}`` of ``phase.key`` over the epochs that report it."""
    return {
        e: float(s[phase][key])
        for e, s in stats.items()
        if key in s.get(phase, {}) and not math.isnan(float(s[phase][key]))
    }


def best_epochs(values: Dict[int, float], mode: str, nbest: int) -> List[int]:
    """The ``nbest`` best epochs, best first, ranked like ESPnet's reporter."""
    if mode not in ("min", "max"):
        raise ValueError(f"mode must be min or max: {mode}")
    sign = 1.0 if mode == "min" else -1.0
    ranked = sorted(values.items(), key=lambda ev: sign * ev[1])
    return [e for e, _ in ranked[:nbest]]


def convergence_epoch(values: Dict[int, float], mode: str, nbest: int) -> Optional[int]:
    """The last of the ``nbest`` best epochs (None without values)."""
    epochs = best_epochs(values, mode, nbest)
    return max(epochs) if epochs else None


def best_value(values: Dict[int, float], mode: str) -> Optional[float]:
    if not values:
        return None
    return max(values.values()) if mode == "max" else min(values.values())


def first_epoch_reaching(
    values: Dict[int, float], target: float, mode: str
) -> Optional[int]:
    """The first epoch whose value is at least as good as ``target``, or None."""
    for epoch in sorted(values):
        v = values[epoch]
        if (v >= target) if mode == "max" else (v <= target):
            return epoch
    return None


def group_name(name: str, pattern: str = SEED_GROUP) -> str:
    """The model a run belongs to: group 1 of ``pattern``, else the run's name."""
    m = re.search(pattern, name)
    return m.group(1) if m and m.groups() else name


def spread(values: Sequence[float]) -> Tuple[Optional[float], Optional[float]]:
    """(mean, sample std) of ``values``: std None for fewer than two."""
    values = spread_values(values)
    if not values:
        return None, None
    return mean(values), (stdev(values) if len(values) > 1 else None)


def fmt_spread(values: Sequence[Optional[float]], digits: int = 1) -> str:
    """``12.3`` for one value, ``12.3 ± 0.4`` for several, ``-`` for none.

    ``digits=0`` is for epochs: whole numbers without decimals, means with one.
    """
    m, s = spread(values)
    if m is None:
        return "-"
    if s is None:
        return _num(m, digits)
    return f"{_num(m, digits)} ± {s:.{max(digits, 1)}f}"


def _num(value: float, digits: int, sign: str = "") -> str:
    if digits == 0 and float(value).is_integer():
        return f"{int(value):{sign}d}"
    return f"{value:{sign}.{max(digits, 1)}f}"


def compare(
    what: str,
    model: Sequence[Optional[float]],
    reference: Sequence[Optional[float]],
    digits: int = 1,
) -> Tuple[Optional[float], bool, str]:
    """Difference of the means of ``model`` and ``reference`` runs.

    Returns:
        (difference or None where either is not measured, whether it is within one
        std across seeds, ``WHAT A vs B (+d)`` with a note on the seed noise).
    """
    (m, sm), (r, sr) = spread(model), spread(reference)
    if m is None or r is None:
        return None, False, f"{what} not measured for both"
    delta = m - r
    text = (
        f"{what} {fmt_spread(model, digits)} vs {fmt_spread(reference, digits)} "
        f"({_num(delta, digits, '+')})"
    )
    stds = [s for s in (sm, sr) if s is not None]
    if not stds:
        return delta, False, text + " (one run each: seed noise not measured)"
    n = f"n={len(spread_values(model))} vs {len(spread_values(reference))}"
    if abs(delta) <= max(stds):
        return (
            delta,
            True,
            (
                text + f" (within one std across seeds, {n}: not distinguishable "
                "from noise)"
            ),
        )
    return delta, False, text + f" (more than one std across seeds, {n})"


def spread_values(values: Sequence[Optional[float]]) -> List[float]:
    return [v for v in values if v is not None and not math.isnan(v)]


def claims(
    groups: Dict[str, Dict[str, List[Optional[float]]]],
    reference: Optional[str],
    test_set: str,
) -> List[str]:
    """The comparison's claims, as measured.

    Args:
        groups: Per model: ``{"conv": conv. epochs, "epochs": epochs trained,
            "bleu": test BLEU}`` of its runs; a conv. epoch that is only a lower
            bound (:func:`is_budget_bound`) is told from the epochs and said.
        reference: The FBank-only model's name (None: no claims).
        test_set: The set whose BLEU is compared.

    Returns:
        One line per claim: whether the SSL-only model (``ssl_only*``) converges in
        fewer epochs than the reference, and what GSGN+Drop (``gsgn_drop*``) does to
        BLEU and the epoch of convergence. A difference within the seed noise
        (``compare``) is not called an effect.
    """
    if reference is None or reference not in groups:
        return ["no FBank-only reference among the experiments: no claims"]
    ref = groups[reference]
    lines = []
    for name in (n for n in groups if n.startswith("ssl_only")):
        delta, noisy, text = compare(
            "conv. epoch", groups[name]["conv"], ref["conv"], 0
        )
        verdict = _fewer_epochs_verdict(delta, noisy, _bound(groups[name]), _bound(ref))
        lines.append(
            f"{name} converges in fewer epochs than {reference}: {verdict}: "
            f"{text}{_bound_note(name, groups[name], reference, ref)}"
        )
    for name in (n for n in groups if n.startswith("gsgn_drop")):
        for what, key, digits in (
            (f"{test_set} BLEU", "bleu", 1),
            ("conv. epoch", "conv", 0),
        ):
            _, _, text = compare(what, groups[name][key], ref[key], digits)
            if key == "conv":
                text += _bound_note(name, groups[name], reference, ref)
            lines.append(f"{name} vs {reference}: {text}")
    return lines


def _bound(group: Dict[str, List[Optional[float]]]) -> bool:
    """Whether a model's conv. epoch is a lower bound (:func:`is_budget_bound`)."""
    return is_budget_bound(group["conv"], group["epochs"])


def _fewer_epochs_verdict(
    delta: Optional[float], noisy: bool, model_bound: bool, ref_bound: bool
) -> str:
    """yes / no / not shown / not measured, for "converges in fewer epochs".

    A conv. epoch that is a lower bound (still improving at the last epoch) decides
    only one way: the reference's bound beaten by the model's measured epoch is a
    yes, and the model's bound at or above the reference's measured epoch is a no.
    """
    if delta is None:
        return "not measured"
    if noisy:
        return "not shown"
    if model_bound and ref_bound:
        return "not measured"
    if ref_bound:
        return "yes" if delta < 0 else "not measured"
    if model_bound:
        return "no" if delta >= 0 else "not measured"
    return "yes" if delta < 0 else "no"


def _bound_note(
    name: str,
    group: Dict[str, List[Optional[float]]],
    reference: str,
    ref: Dict[str, List[Optional[float]]],
) -> str:
    """`` (... a lower bound ...)`` where either conv. epoch is one, else empty."""
    bound = [n for n, g in ((name, group), (reference, ref)) if _bound(g)]
    if len(bound) == 2:
        return " (both lower bounds: still improving at their last epoch)"
    if bound:
        return f" ({bound[0]}'s is a lower bound: still improving at its last epoch)"
    return ""


def is_budget_bound(
    conv_epochs: Sequence[Optional[int]], epochs: Sequence[int]
) -> bool:
    """Whether every run's last trained epoch is among its best (still improving)."""
    pairs = list(zip(conv_epochs, epochs))
    return bool(pairs) and all(c is not None and c == e for c, e in pairs)


def budget_bound(groups: Dict[str, Dict[str, List[Optional[float]]]]) -> List[str]:
    """Lines for the models still improving when training ended.

    When a model's last trained epoch is among its best ones (its epoch of
    convergence equals its epoch count, in every run), training stopped at
    ``max_epoch`` rather than by early stopping: its epoch of convergence is a lower
    bound set by the budget, and a speed-up computed from it says little.

    Args:
        groups: Per model: ``{"conv": conv. epochs, "epochs": trained epochs}``.
    """
    lines = []
    for name, g in groups.items():
        if is_budget_bound(g["conv"], g["epochs"]):
            lines.append(
                f"{name} was still improving at its last epoch "
                f"({fmt_spread(g['epochs'], 0)}): its epoch of convergence is a lower "
                "bound set by max_epoch, not a measured convergence"
            )
    return lines
