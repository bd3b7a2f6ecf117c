"""The results of the MuST-C recipe (egs2/mustc/st1): every experiment, beside the
published numbers, with the environment that produced them.

Usage::

    python -m espnet2_ext.recipes.mustc.results --exp_dir exp \\
        [--sets tst-COMMON tst-HE] [--reference fbank_only] --out exp/results

Reads every experiment dir ``<exp_dir>/st_<tag>`` that ``st.sh`` makes (not the
shared ``st_stats_*`` dir, not the ``st_<tag>.old-<time>`` dirs a retraining sets
aside) as :mod:`espnet2_ext.stages.report` does: the trainer's ``checkpoint.pth``
(epochs, validation curve), ``config.yaml`` (the epoch of convergence) and the scores
of stage 13, ``decode_<set>_<model>/score/result.json`` (BLEU, chrF, the sacreBLEU
signature and BLEU line). An experiment without scores yet is listed as "not scored".

A tag is ``<row>_[en_]<tgt_lang>_<tokens>[_<more>]`` (``gsgn_drop_de_bpe8000``,
``fbank_only_en_fr_bpe_unigram8000_seed2``); an ``asrinit`` among ``<more>`` makes
the row ``<row>_asrinit``, as ``gsgn_drop_asrinit_de_bpe8000`` already is. A set is
named with or without its language pair: ``tst-COMMON`` (or ``tst-COMMON.en-de``)
reads each experiment's ``tst-COMMON.en-<tgt_lang>`` decoding, else ``tst-COMMON``;
the recipe's MuST-C v2 sets (``tst-COMMON_v2.en-de``) make columns of their own, and
the published numbers stand beside tst-COMMON of either release.

Writes

- ``<out>.md`` and ``<out>.csv``: one row per experiment dir (each has one target
  language): BLEU and chrF per set, the sacreBLEU BLEU signature (in the Markdown once
  under the table when every score has the same, else a column; always a column of
  the CSV), epochs run, epoch of convergence (``≥N``: still improving at its last
  epoch, see :func:`convergence.is_budget_bound`), speed-up (the reference's conv.
  epoch over the experiment's, see :func:`report.model_rows`; the reference is the
  ``--reference`` row of the same target language, for ``*_asrinit`` rows the
  ``<reference>_asrinit`` one, as the paper's Table IV compares pre-trained models),
  and the published BLEU of the row (:mod:`espnet2_ext.recipes.mustc.published`;
  blank where there is none); the Markdown adds the notes and the environment
  (package versions, Python, git hash, GPUs, date);
- ``RESULTS.md`` next to ``<out>``, in the format of ESPnet's
  ``scripts/utils/show_translation_result.sh`` (``# RESULTS``, ``## Environments``,
  then ``## <exp>`` / ``### BLEU`` / ``|dataset|score|verbose_score|`` per scored
  experiment, the dataset named ``<model>/<set>`` as ESPnet names
  ``<inference_tag>/<set>``),

and prints the Markdown.
"""

import argparse
import csv
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from espnet2_ext.recipes.mustc import published
from espnet2_ext.stages import report
from espnet2_ext.stages.convergence import fmt_spread
from espnet2_ext.stages.provenance import environment, environment_lines, results_header
from espnet2_ext.utils.atomic import write_text_atomic

#: A ``--group`` pattern that never matches: every experiment is its own row.
NO_GROUP = r"(?!)"
#: The order of the target languages (the paper's), others after them.
LANG_ORDER = ("de", "fr", "es")
SIGNATURE = "BLEU signature"

_TOKENS = r"(?:bpe_?(?:unigram|bpe|char|word)?\d+|char|word)"
_TAG = re.compile(
    rf"^(?P<row>.+?)_(?:en_)?(?P<tgt>[a-z]{{2}})_(?P<tokens>{_TOKENS}(?:_{_TOKENS})?)"
    r"(?:_(?P<more>.+))?$"
)


@dataclass(frozen=True)
class Tag:
    """The parts of an experiment's tag (``st_<tag>``).

    Attributes:
        row: the paper's row (a key of :data:`published.ROWS` when known).
        tgt_lang: the target language, None where the tag does not say.
        tokens: the token part (``bpe8000``, ``bpe_unigram8000``).
        more: what follows the tokens (``seed2``), ``asrinit`` taken out.
    """

    name: str
    row: str
    tgt_lang: Optional[str] = None
    tokens: Optional[str] = None
    more: str = ""

    @property
    def asrinit(self) -> bool:
        return self.row.endswith("_asrinit")


def parse_tag(name: str) -> Tag:
    """The row, target language and tokens of a tag (the row is the whole tag when
    it does not read as ``<row>_[en_]<lang>_<tokens>``)."""
    m = _TAG.match(name)
    if not m:
        return Tag(name, name)
    row, more = m["row"], (m["more"] or "").split("_")
    if "asrinit" in more:
        more.remove("asrinit")
        if not row.endswith("_asrinit"):
            row += "_asrinit"
    return Tag(name, row, m["tgt"], m["tokens"], "_".join(p for p in more if p))


@dataclass
class Experiment:
    """One experiment dir: its summary (:func:`report.summarize_experiment`) and
    the ``result.json`` of each set found (keyed by the set's column name)."""

    path: Path
    tag: Tag
    summary: report.ExperimentSummary
    trained: bool
    results: Dict[str, Tuple[str, Path, dict]] = field(default_factory=dict)

    def scored(self, column: str) -> Optional[dict]:
        found = self.results.get(column)
        return found[2] if found else None


def experiment_dirs(exp_dir: Path) -> List[Path]:
    """The ``st_<tag>`` dirs of ``exp_dir``, by name."""
    return sorted(
        p
        for p in exp_dir.glob("st_*")
        if p.is_dir() and not p.name.startswith("st_stats_") and ".old-" not in p.name
    )


def set_columns(sets: Sequence[str]) -> List[str]:
    """The sets' names without language pairs, each once, in order."""
    return list(dict.fromkeys(published.set_base(s) for s in sets))


def resolve_set(
    exp: Path, column: str, sets: Sequence[str], tgt_lang: Optional[str]
) -> Optional[str]:
    """The name of ``exp``'s decoded set for ``column``: one of ``sets`` (as given),
    else ``<column>.en-<tgt_lang>``, else ``column``; None when none is scored."""
    names = [s for s in sets if published.set_base(s) == column]
    if tgt_lang:
        names.append(f"{column}.en-{tgt_lang}")
    names.append(column)
    return next((n for n in dict.fromkeys(names) if _decoded(exp, n)), None)


def _decoded(exp: Path, dset: str) -> bool:
    """Whether ``exp`` has scores of ``dset``. NOTE: ``decode_tst-COMMON_*`` also
    matches ``decode_tst-COMMON_v2.en-de_<model>``, a longer set's: a model name
    never holds a language pair, so a rest with ``.en-`` is not ``dset``'s."""
    prefix = f"decode_{dset}_"
    return any(
        ".en-" not in p.parents[1].name[len(prefix) :]
        for p in exp.glob(f"{prefix}*/score/result.json")
    )


def read_experiment(exp: Path, sets: Sequence[str]) -> Experiment:
    """Summary and scores of ``exp``; one not trained yet (no ``checkpoint.pth``) has
    no epochs but keeps whatever scores it has."""
    name = exp.name[len("st_") :]
    tag = parse_tag(name)
    names = {c: resolve_set(exp, c, sets, tag.tgt_lang) for c in set_columns(sets)}
    found = [n for n in names.values() if n is not None]
    trained = (exp / "checkpoint.pth").exists()
    if trained:
        summary = report.summarize_experiment(exp, found)
        summary.name = name  # NOTE: report also strips an "asr_" after the "st_"
    else:
        scores = {n: s for n in found if (s := report.read_scores(exp, n)) is not None}
        summary = report.ExperimentSummary(name, 0, 0.0, scores)
    results = {}
    for column, dset in names.items():
        if dset is not None:
            path = report.score_file(exp, dset)
            results[column] = (dset, path, json.loads(path.read_text(encoding="utf-8")))
    return Experiment(exp, tag, summary, trained, results)


def _row_rank(row: str) -> Tuple[int, str]:
    order = published.ROW_ORDER
    return (order.index(row) if row in order else len(order), row)


def _lang_rank(lang: Optional[str]) -> Tuple[int, str]:
    return (
        LANG_ORDER.index(lang) if lang in LANG_ORDER else len(LANG_ORDER),
        lang or "",
    )


def sort_experiments(experiments: Sequence[Experiment]) -> List[Experiment]:
    """By target language, then the paper's row order, then tag."""
    return sorted(
        experiments,
        key=lambda e: (_lang_rank(e.tag.tgt_lang), _row_rank(e.tag.row), e.tag.name),
    )


@dataclass
class Comparison:
    """The :class:`report.ModelRow` of every experiment (conv. epoch, speed-up) and
    the reference of each (target language, ASR-init) group, None where missing."""

    rows: Dict[str, report.ModelRow]
    refs: Dict[str, Optional[str]]  # experiment -> its group's reference
    #: (target language, ASR-init) -> (the reference row, its experiment or None)
    groups: Dict[Tuple[Optional[str], bool], Tuple[str, Optional[str]]]


def compare(experiments: Sequence[Experiment], reference: str) -> Comparison:
    """Speed-ups against the ``reference`` row of the same target language (the
    ``<reference>_asrinit`` row for ASR-initialised experiments).

    Of several experiments of the reference row in one group (seeds, vocabularies),
    the first without a suffix, by name, is the reference.
    """
    groups: Dict[Tuple[Optional[str], bool], List[Experiment]] = {}
    for e in experiments:
        groups.setdefault((e.tag.tgt_lang, e.tag.asrinit), []).append(e)
    rows: Dict[str, report.ModelRow] = {}
    refs: Dict[str, Optional[str]] = {}
    group_refs: Dict[Tuple[Optional[str], bool], Tuple[str, Optional[str]]] = {}
    base = (
        reference[: -len("_asrinit")] if reference.endswith("_asrinit") else reference
    )
    for (lang, asrinit), members in groups.items():
        ref_row = base + ("_asrinit" if asrinit else "")
        candidates = sorted(
            (e for e in members if e.tag.row == ref_row),
            key=lambda e: (e.tag.more != "", e.tag.name),
        )
        ref = candidates[0].tag.name if candidates else None
        summaries = [e.summary for e in members]
        table, _ = report.model_rows(summaries, ref, NO_GROUP)
        for m in table:
            if ref is None:  # no reference: model_rows may have picked another
                m.speed_up = None
            rows[m.name] = m
            refs[m.name] = ref
        group_refs[(lang, asrinit)] = (ref_row, ref)
    return Comparison(rows, refs, group_refs)


def _score(data: Optional[dict], key: str) -> str:
    if data is None or key not in data:
        return "-"
    return fmt_spread([float(data[key])])


def _signatures(e: Experiment) -> List[str]:
    sigs = [d.get("bleu_signature") for _, _, d in e.results.values()]
    return list(dict.fromkeys(s for s in sigs if s))


@dataclass
class Table:
    """The results table: columns and one dict of cells per experiment."""

    columns: List[str]
    rows: List[Dict[str, str]]
    signatures: List[str]  # every distinct BLEU signature
    comparison: Comparison
    experiments: List[Experiment]


def build_table(
    experiments: Sequence[Experiment], sets: Sequence[str], reference: str
) -> Table:
    """The cells of :func:`markdown` and :func:`csv_text` (see the module docstring)."""
    experiments = sort_experiments(experiments)
    comparison = compare(experiments, reference)
    columns = set_columns(sets)
    paper_sets = [
        c for c in columns if published.is_test_set(c, published.PAPER_TEST_SET)
    ]
    espnet_sets = [
        c
        for c in columns
        if published.is_test_set(c, published.ESPNET_BASELINE.test_set)
    ]
    header = ["experiment", "row", "target"]
    for c in columns:
        header += [f"{c} BLEU", f"{c} chrF"]
    header += [SIGNATURE, "epochs", "conv. epoch", "speed-up"]
    header += [f"paper {c} BLEU" for c in paper_sets]
    header += ["paper conv. epoch"] if paper_sets else []
    header += [f"ESPnet {c} BLEU" for c in espnet_sets]
    header += ["status"]
    rows = []
    for e in experiments:
        tag, m = e.tag, comparison.rows[e.summary.name]
        lang = tag.tgt_lang or ""
        cells = {"experiment": e.path.name, "row": tag.row, "target": lang or "-"}
        for c in columns:
            data = e.scored(c)
            cells[f"{c} BLEU"] = _score(data, "bleu")
            cells[f"{c} chrF"] = _score(data, "chrf")
        cells[SIGNATURE] = "; ".join(_signatures(e)) or "-"
        cells["epochs"] = str(e.summary.epochs) if e.trained else "-"
        cells["conv. epoch"] = report.conv_epoch_cell(m)
        cells["speed-up"] = report.speed_up_cell(m, comparison.refs[m.name])
        for c in paper_sets:
            cells[f"paper {c} BLEU"] = published.paper_bleu_text(tag.row, lang, c)
        if paper_sets:
            epoch = published.paper_epoch(tag.row, lang)
            cells["paper conv. epoch"] = "" if epoch is None else str(epoch)
        for c in espnet_sets:
            cells[f"ESPnet {c} BLEU"] = published.espnet_bleu_text(tag.row, lang, c)
        missing = [c for c in columns if c not in e.results]
        if not missing:
            cells["status"] = "scored"
        elif len(missing) == len(columns):
            cells["status"] = "not scored"
        else:
            cells["status"] = "not scored: " + ", ".join(missing)
        rows.append(cells)
    signatures = list(dict.fromkeys(s for e in experiments for s in _signatures(e)))
    return Table(header, rows, signatures, comparison, experiments)


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown_table(table: Table) -> str:
    """The table in Markdown; the signature column only when signatures differ."""
    columns = [c for c in table.columns if c != SIGNATURE or len(table.signatures) > 1]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for cells in table.rows:
        lines.append("| " + " | ".join(_md_cell(cells[c]) for c in columns) + " |")
    return "\n".join(lines) + "\n"


def csv_text(table: Table) -> str:
    """The table as CSV, the same cells, the signature always a column."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(table.columns)
    for cells in table.rows:
        writer.writerow([cells[c] for c in table.columns])
    return buf.getvalue()


def notes(table: Table) -> List[str]:
    """The lines under the table: signature, definitions, references, sources."""
    lines = []
    if len(table.signatures) == 1:
        lines.append(f"sacreBLEU BLEU signature (every score): `{table.signatures[0]}`")
    lines.append(
        "conv. epoch: the last of the best epochs that ESPnet averages for decoding "
        "(keep_nbest_models by best_model_criterion), the paper's definition; ≥N: "
        "still improving at its last epoch N, a lower bound, so no speed-up"
    )
    refs = []
    for (lang, asrinit), (row, ref) in table.comparison.groups.items():
        group = (lang or "no language") + (", ASR-init" if asrinit else "")
        refs.append(
            f"{group}: " + (f"st_{ref}" if ref else f"none (no {row} experiment)")
        )
    lines.append(
        "speed-up: the reference's conv. epoch over the experiment's; references: "
        + "; ".join(refs)
    )
    for row in dict.fromkeys(e.tag.row for e in table.experiments):
        mapping = published.ROWS.get(row)
        if mapping is None:
            lines.append(f"{row}: no published row known")
            continue
        if mapping.paper:
            text = f"{row}: {published.PAPER_ROWS[mapping.paper].source()}"
        elif mapping.espnet:
            base = published.ESPNET_BASELINE
            text = (
                f"{row}: {base.cite()}, {base.bleu} BLEU on "
                f"{base.test_set} en-{base.tgt_lang}"
            )
        else:
            text = f"{row}: no published row"
        lines.append(text + (f" ({mapping.note})" if mapping.note else ""))
    return lines


def _verbose_score(data: dict) -> str:
    """sacreBLEU's BLEU line without its ``BLEU = <score>`` head (ESPnet's
    verbose_score), or ``-``."""
    details = data.get("bleu_details") or ""
    m = re.match(r"^BLEU = \S+ (.+)$", details.strip())
    return m.group(1) if m else "-"


def results_md(experiments: Sequence[Experiment], env: Dict[str, str]) -> str:
    """ESPnet's ``RESULTS.md`` (its show_translation_result.sh) of the scored
    experiments."""
    lines = results_header(env, "python -m espnet2_ext.recipes.mustc.results")
    for e in sort_experiments(experiments):
        if not e.results:
            continue
        lines += [
            f"## {e.path.name}",
            "",
            "### BLEU",
            "",
            "|dataset|score|verbose_score|",
            "|---|---|---|",
        ]
        for dset, path, data in e.results.values():
            model = path.parents[1].name[len(f"decode_{dset}_") :]
            score = f"{float(data['bleu']):.1f}" if "bleu" in data else "-"
            lines.append(f"|{model}/{dset}|{score}|{_verbose_score(data)}|")
        lines.append("")
    return "\n".join(lines)


def get_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--exp_dir", type=Path, default=Path("exp"), help="holds the st_<tag> dirs"
    )
    parser.add_argument(
        "--sets",
        nargs="+",
        default=["tst-COMMON", "tst-HE"],
        help="test sets, with or without language pair (default: %(default)s)",
    )
    parser.add_argument(
        "--reference",
        default="fbank_only",
        help="the row the speed-ups are against (default: %(default)s)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="prefix of .md/.csv (default: <exp_dir>/results); RESULTS.md beside it",
    )
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = get_args(argv)
    if not args.exp_dir.is_dir():
        raise FileNotFoundError(f"{args.exp_dir}: no such experiment dir")
    dirs = experiment_dirs(args.exp_dir)
    if not dirs:
        raise ValueError(
            f"{args.exp_dir}: no experiment (st_<tag> dir) - has st.sh trained any?"
        )
    experiments = [read_experiment(d, args.sets) for d in dirs]
    table = build_table(experiments, args.sets, args.reference)
    env = environment()
    text = "\n".join(
        ["# MuST-C results", "", markdown_table(table).rstrip("\n"), ""]
        + [f"- {line}" for line in notes(table)]
        + ["", "## Environment", ""]
        + environment_lines(env)
    )
    out = args.out or args.exp_dir / "results"
    write_text_atomic(Path(f"{out}.md"), text + "\n")
    write_text_atomic(Path(f"{out}.csv"), csv_text(table))
    results = out.parent / "RESULTS.md"
    write_text_atomic(results, results_md(experiments, env))
    print(text)
    print(f"(written: {out}.md, {out}.csv, {results})")


if __name__ == "__main__":
    from espnet2_ext.utils.deps import run_cli

    run_cli(main, input_errors=True)
