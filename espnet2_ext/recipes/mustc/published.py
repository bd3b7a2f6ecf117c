"""Published MuST-C numbers that the recipe's results are set beside, as data.

Two sources, each value copied by hand from it:

- **The GSGN paper**: W. Shan, Y. Zhang, Y. Han, B. Li, X. Zhao, Y. Li, M. Zhang,
  H. Yang, T. Xiao, J. Zhu, "Optimizing Speech Multi-View Feature Fusion through
  Conditional Computation", arXiv:2501.08057 (the text in
  ``shared/papers/gsgn_multiview_fusion_2501.08057.txt``). Table I (main result, En-De,
  En-Fr, En-Es), Table II (random noise, En-De), Table III (concatenation-based gate vs
  GSGN, En-De), Table IV (pre-trained models, En-De). The "Test" column is BLEU with
  sacreBLEU (Section III-B) and the "Epoch" column the epoch of convergence: "the last
  epoch at the average 10 checkpoints" (Section III-B), which is our definition too
  (:mod:`espnet2_ext.stages.convergence`).
- **ESPnet's own baseline**: the attentional encoder-decoder conformer with an
  ASR-initialised encoder of ESPnet's ``egs2/must_c_v2/st1`` recipe, 25.7 BLEU on
  tst-COMMON En-De (:data:`ESPNET_BASELINE`).

What the paper leaves unclear, and is therefore assumed or left out (NOTE comments at
the values say which):

- It says "we report results on the test sets" without naming the set: taken as
  tst-COMMON, MuST-C's standard test set (lookups answer for tst-COMMON only,
  of any release: :func:`is_test_set`).
- It names neither the MuST-C release (v1 or v2) nor the sacreBLEU signature (case,
  tokeniser): a comparison with our scores is indicative only.
- Figures 1, 3, 4 and 5 show values only as plots: nothing is copied from them.

Our rows (the tags' ``<row>`` part) are mapped to the published rows in :data:`ROWS`,
one explicit entry per row, with what differs from the published setup.
"""

import re
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

#: The paper, as cited in the tables' notes.
PAPER = "Shan et al., arXiv:2501.08057"
#: The set the paper's "Test" column is taken to be (see the module docstring).
PAPER_TEST_SET = "tst-COMMON"


@dataclass(frozen=True)
class PaperRow:
    """One row of one of the paper's tables.

    Attributes:
        table: ``"I"``, ``"II"``, ``"III"`` or ``"IV"``.
        name: the row's name as printed (Table II: the noise method, then the model).
        results: target language -> (BLEU as printed, epoch of convergence).
        speed_up: target language -> the speed-up as printed beside the epoch
            (``×1.33``: the table's FBanks-only epoch over this row's), where printed.
    """

    table: str
    name: str
    results: Dict[str, Tuple[str, int]]
    speed_up: Optional[Dict[str, float]] = None

    def source(self) -> str:
        return f"{PAPER}, Table {self.table}, {self.name}"


#: The paper's rows, by our key. Values exactly as printed (``"33.00"``, ``"25.3"``).
PAPER_ROWS: Dict[str, PaperRow] = {
    # Table I: trained from scratch, En-De / En-Fr / En-Es.
    "fbank_only": PaperRow(
        "I",
        "S2T(FBanks-only)",
        {"de": ("25.08", 40), "fr": ("36.22", 35), "es": ("30.04", 37)},
    ),
    # NOTE: the paper's S-feature is k-means units (500 clusters) of HuBERT Base
    # layer 9 (hubert_base_ls960_L9_km500, Section III-A).
    "s_feature_only": PaperRow(
        "I",
        "S2T(S-feature-only)",
        {"de": ("23.33", 27), "fr": ("33.00", 25), "es": ("26.52", 23)},
    ),
    # NOTE: Table III repeats this row's En-De values (24.18, 28).
    "gsgn": PaperRow(
        "I",
        "S2T-GSGN",
        {"de": ("24.18", 28), "fr": ("33.91", 25), "es": ("28.61", 24)},
    ),
    # NOTE: the "(+0.18)"-style BLEU deltas against FBanks-only are not copied (they
    # follow from the values); the speed-ups are, as printed.
    "gsgn_drop": PaperRow(
        "I",
        "S2T-GSGN+Drop",
        {"de": ("25.26", 30), "fr": ("36.24", 30), "es": ("30.24", 30)},
        speed_up={"de": 1.33, "fr": 1.17, "es": 1.23},
    ),
    # Table II: uniform noise in the S-feature's range, En-De only (Section IV-A).
    # "Sum": the noise added to the input of the FBanks-only model.
    "noise_sum_fbank_only": PaperRow(
        "II", "Sum, S2T(FBanks-only)", {"de": ("25.37", 38)}
    ),
    # "Replace": the S-feature replaced by the noise.
    "noise_replace_gsgn": PaperRow("II", "Replace, S2T-GSGN", {"de": ("25.19", 37)}),
    "noise_replace_gsgn_drop": PaperRow(
        "II", "Replace, S2T-GSGN+Drop", {"de": ("25.3", 39)}
    ),
    # Table III: Linear([x_fbank; x_unit]) 2D -> D, En-De only (Section IV-B).
    "concat": PaperRow("III", "S2T-Concat", {"de": ("23.8", 32)}),
    # Table IV: pre-trained models, En-De only (Section IV-C). NOTE: the paper
    # initialises the acoustic encoder from a LibriSpeech ASR model *and* the textual
    # encoder and decoder from MT pre-training on WMT16 (En-De) (Section III-A).
    "pretrained_fbank_only": PaperRow(
        "IV", "S2T(FBanks-only), pre-trained", {"de": ("27.98", 33)}
    ),
    "pretrained_s_feature_only": PaperRow(
        "IV", "S2T(S-feature-only), pre-trained", {"de": ("25.60", 25)}
    ),
    "pretrained_gsgn": PaperRow("IV", "S2T-GSGN, pre-trained", {"de": ("27.61", 25)}),
    "pretrained_gsgn_drop": PaperRow(
        "IV",
        "S2T-GSGN+Drop, pre-trained",
        {"de": ("28.19", 27)},
        speed_up={"de": 1.22},
    ),
}

#: The paper's headline: the mean of Table I's three GSGN+Drop speed-ups (Sections I
#: and V: "average 1.24 times training speedup"; (1.33 + 1.17 + 1.23) / 3 = 1.243).
PAPER_MEAN_SPEED_UP = 1.24


@dataclass(frozen=True)
class EspnetResult:
    """A result of one of ESPnet's recipes, as its README reports it.

    Attributes:
        bleu: the score, as printed.
        verbose_score: sacreBLEU's n-gram precisions, BP and lengths, as printed.
    """

    recipe: str
    source: str
    exp: str
    config: str
    inference_config: str
    model: str
    tgt_lang: str
    test_set: str
    dataset: str
    bleu: str
    verbose_score: str

    def cite(self) -> str:
        return f"ESPnet {self.recipe} ({self.config}; {self.source})"


#: ESPnet's must_c_v2 conformer + ASR-init baseline: "Attentional Enc-Dec" of
#: espnet/espnet ``egs2/must_c_v2/st1/README.md`` at commit
#: 51c7da5d33ccddcabea688ad5799202650757f93. NOTE: MuST-C *v2*, BPE 4000
#: (true case), speed perturbation; another stored version of that README
#: (0536200a323d05ef260e72684025ebf19bf8c85a) lists only its CTC/Attention (28.6) and
#: Transducer (27.6) rows.
ESPNET_BASELINE = EspnetResult(
    recipe="egs2/must_c_v2/st1",
    source="espnet/espnet egs2/must_c_v2/st1/README.md "
    "@51c7da5d33ccddcabea688ad5799202650757f93",
    exp="st_train_st_conformer_asrinit_v2_raw_en_de_bpe_tc4000_sp",
    config="conf/tuning/train_st_conformer_asrinit_v2.yaml",
    inference_config="conf/tuning/decode_st_conformer.yaml",
    model="espnet/brianyan918_mustc-v2_en-de_st_conformer_asrinit_v2_raw_en_de_bpe_"
    "tc4000_sp",
    tgt_lang="de",
    test_set="tst-COMMON",
    dataset="decode_st_conformer_st_model_valid.acc.ave_10best/tst-COMMON.en-de",
    bleu="25.7",
    verbose_score="62.3/34.6/21.8/14.3 (BP = 0.897 ratio = 0.902 hyp_len = 46612 "
    "ref_len = 51699)",
)


@dataclass(frozen=True)
class RowMapping:
    """Which published row one of our rows is set beside, and what differs.

    Attributes:
        paper: a key of :data:`PAPER_ROWS`, or None (no such row in the paper).
        espnet: whether the row is ESPnet's baseline (:data:`ESPNET_BASELINE`).
        note: what differs from the published setup (empty: nothing known).
    """

    paper: Optional[str] = None
    espnet: bool = False
    note: str = ""


_UNITS = "the paper's S-feature: k-means units of HuBERT Base layer 9 (500)"
_OURS_HCONV = (
    "our S-feature: HConv over the upstream's layers; the paper's: k-means units "
    "of HuBERT Base layer 9 (500)"
)
_ASR_INIT = (
    "ours initialises the acoustic encoder from an ASR model only; the paper also "
    "pre-trains the textual encoder and decoder on WMT"
)

#: Our row name -> the published row. Rows trained with an ASR-initialised acoustic
#: encoder (``*_asrinit``) are set beside Table IV. Every row of the recipe has an
#: entry, also those the paper does not report (``paper=None``).
ROWS: Dict[str, RowMapping] = {
    "fbank_only": RowMapping("fbank_only"),
    "ssl_only": RowMapping("s_feature_only", note=_OURS_HCONV),
    "units": RowMapping("s_feature_only", note=_UNITS),
    "concat": RowMapping("concat", note=_OURS_HCONV),
    "gated_no_gradient": RowMapping(
        note="not in the paper (GSGN's gate with the gate loss off, lambda = 0)"
    ),
    "gsgn": RowMapping("gsgn", note=_OURS_HCONV),
    "gsgn_drop": RowMapping("gsgn_drop", note=_OURS_HCONV),
    # our noise row is GSGN+Drop with the S-feature replaced by noise
    "noise": RowMapping("noise_replace_gsgn_drop"),
    "sum": RowMapping(
        note="not in the paper (Table II's 'Sum' adds noise to the FBanks-only "
        "model's input, not a sum of the two views)"
    ),
    "fbank_only_asrinit": RowMapping("pretrained_fbank_only", note=_ASR_INIT),
    "ssl_only_asrinit": RowMapping(
        "pretrained_s_feature_only", note=f"{_ASR_INIT}; {_OURS_HCONV}"
    ),
    "units_asrinit": RowMapping("pretrained_s_feature_only", note=_ASR_INIT),
    "concat_asrinit": RowMapping(note="not in the paper (Table IV has no concat row)"),
    "gated_no_gradient_asrinit": RowMapping(note="not in the paper"),
    "gsgn_asrinit": RowMapping("pretrained_gsgn", note=f"{_ASR_INIT}; {_OURS_HCONV}"),
    "gsgn_drop_asrinit": RowMapping(
        "pretrained_gsgn_drop", note=f"{_ASR_INIT}; {_OURS_HCONV}"
    ),
    "noise_asrinit": RowMapping(note="not in the paper (Table II is from scratch)"),
    "espnet_conformer_asrinit": RowMapping(
        espnet=True,
        note="ESPnet's model trained by our recipe; ESPnet's 25.7 is on MuST-C v2",
    ),
    "espnet_conformer": RowMapping(
        note="ESPnet's conformer without the ASR initialisation of its 25.7 BLEU"
    ),
}

#: The order of the rows in the tables (the paper's order; others after them).
ROW_ORDER = tuple(ROWS)


def set_base(dset: str) -> str:
    """``tst-COMMON.en-de`` -> ``tst-COMMON`` (the set without its language pair)."""
    return dset.split(".", 1)[0]


def is_test_set(dset: str, test_set: str) -> bool:
    """Whether ``dset`` is ``test_set`` of some MuST-C release and language pair:
    ``tst-COMMON``, ``tst-COMMON.en-de`` and ``tst-COMMON_v2.en-de`` (the recipe's
    MuST-C v2 name) are all ``tst-COMMON``."""
    return re.sub(r"_v\d+$", "", set_base(dset)) == test_set


def paper_row(row: str) -> Optional[PaperRow]:
    """The paper's row that our ``row`` is set beside, or None."""
    mapping = ROWS.get(row)
    return PAPER_ROWS[mapping.paper] if mapping and mapping.paper else None


def paper_result(row: str, tgt_lang: str, dset: str) -> Optional[Tuple[float, int]]:
    """(BLEU, epoch of convergence) the paper reports for our ``row``, or None.

    Args:
        row: our row name (a key of :data:`ROWS`).
        tgt_lang: the target language (``de``, ``fr``, ``es``).
        dset: the test set, with or without its language pair (``tst-COMMON.en-de``).
    """
    published = paper_row(row)
    if published is None or not is_test_set(dset, PAPER_TEST_SET):
        return None
    found = published.results.get(tgt_lang)
    return None if found is None else (float(found[0]), found[1])


def paper_bleu_text(row: str, tgt_lang: str, dset: str) -> str:
    """The paper's BLEU as printed (``"33.00"``), or ``""``."""
    published = paper_row(row)
    if published is None or not is_test_set(dset, PAPER_TEST_SET):
        return ""
    return published.results.get(tgt_lang, ("", 0))[0]


def paper_epoch(row: str, tgt_lang: str) -> Optional[int]:
    """The paper's epoch of convergence for our ``row``, or None."""
    found = paper_result(row, tgt_lang, PAPER_TEST_SET)
    return None if found is None else found[1]


def espnet_bleu_text(row: str, tgt_lang: str, dset: str) -> str:
    """ESPnet's published BLEU (as printed) where ``row`` is its baseline, or ``""``."""
    mapping = ROWS.get(row)
    base = ESPNET_BASELINE
    if (
        mapping is None
        or not mapping.espnet
        or tgt_lang != base.tgt_lang
        or not is_test_set(dset, base.test_set)
    ):
        return ""
    return base.bleu
