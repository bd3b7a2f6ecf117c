"""The ML-SUPERB benchmark matrix: tracks x frontends x learning rates, and each cell's
training config.

ML-SUPERB (Shi et al., Interspeech 2023) fixes the downstream model and the training
(``conf/model/ml_superb_asr.yaml``): "only the frontend and the learning rate can be
changed". A *cell* is one (track, frontend, learning rate); its config is the model
file with the frontend's fragment merged in and ``optim_conf.lr`` set.

Tracks (data sets ``{train,dev,test}_<track>``):

- ``mono_<iso>_10min`` / ``mono_<iso>_1h``: monolingual ASR of one language (ISO
  639-3; ML-SUPERB's are eng deu rus pol swe jpn cmn sat nob xty);
- ``multi_10min`` / ``multi_1h``: multilingual ASR over every language;
- ``multi_lid_10min`` / ``multi_lid_1h``: multilingual ASR with the language tag
  ``[iso]`` as the first token (joint ASR + LID).

Frontends (:data:`FRONTENDS`), each composed from fragments under
``espnet2_ext/conf/frontend/`` and a few settings; every SSL upstream is frozen, and
the frontend's own projection to 80 dimensions is the protocol's linear pre-encoder
(``1024 -> 80`` for a large upstream: the width is read from the upstream, never
written here):

- ``fbank``: ESPnet's default frontend with ``n_fft 1024`` and ``hop_length 320`` (20
  ms, the SSL frame rate), the protocol's FBank baseline
  (``conf/frontend/ml_superb_fbank.yaml``);
- ``hconv``: hierarchical convolution over layers (Shih & Harwath 2024), the SSL
  frontend of ``conf/frontend/ml_superb_ssl.yaml`` as it is;
- ``weighted_sum``: the SUPERB weighted sum of the upstream's layers;
- ``concat``: the layers concatenated along width and projected;
- ``hconv_2up`` / ``chconv_2up``: two upstreams fused across models and layers by
  sum / by concatenation and projection, then HConv (Shih & Harwath 2025);
- ``gsgn``: FBank (the baseline's) and the upstream through HConv, fused as the
  comparison's row ``gsgn`` (:mod:`espnet2_ext.stages.rows`: the gradient-sensitive
  gating network of ``conf/fusion/gsgn.yaml``).

Example::

    from espnet2_ext.recipes.ml_superb.matrix import Track, plan, cell_config
    cells = plan([Track.parse("multi_lid_10min")], ["fbank", "hconv"], [1e-4, 1e-3])
    config = cell_config(cells[0], model, upstreams=["hubert"])
"""

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence

from espnet2_ext.stages import rows
from espnet2_ext.stages.compose_config import compose, deep_merge, load_fragment
from espnet2_ext.utils.package_data import conf_path

#: The protocol's FBank frontend: ESPnet's DefaultFrontend (80 mel bins by default).
FBANK_FRAGMENT = conf_path("frontend/ml_superb_fbank.yaml")
#: The protocol's SSL frontend: frozen upstream(s), HConv, projected to 80.
SSL_FRAGMENT = conf_path("frontend/ml_superb_ssl.yaml")
#: The protocol's FBank options (also the FBank view of a fused frontend).
FBANK_CONF: Dict[str, int] = load_fragment(FBANK_FRAGMENT)["frontend_conf"]
#: The checkpoint every cell is decoded with (``best_model_criterion`` valid loss).
INFERENCE_MODEL = "valid.loss.ave.pth"


@dataclass(frozen=True)
class Frontend:
    """How a frontend of the matrix is composed.

    Attributes:
        upstreams: How many SSL upstreams it reads (0: the FBank baseline, from
            :data:`FBANK_FRAGMENT`; else :data:`SSL_FRAGMENT`).
        settings: ``frontend_conf`` keys set on top of the fragment.
        row: A row of the comparison (:data:`espnet2_ext.stages.rows.ROWS`) whose
            fragments are merged last, its FBank view being :data:`FBANK_CONF`.
    """

    upstreams: int
    settings: Mapping[str, str] = field(default_factory=dict)
    row: Optional[str] = None


#: Frontends of the matrix.
FRONTENDS: Dict[str, Frontend] = {
    "fbank": Frontend(0),
    "weighted_sum": Frontend(1, {"interface": "weighted_sum"}),
    "hconv": Frontend(1),
    "concat": Frontend(1, {"interface": "concat_proj"}),
    "hconv_2up": Frontend(2, {"upstream_fusion": "sum"}),
    "chconv_2up": Frontend(2, {"upstream_fusion": "concat"}),
    "gsgn": Frontend(1, row="gsgn"),
}
_TRACK = re.compile(
    r"^(?:mono_(?P<lang>[a-z]{3})|(?P<kind>multi|multi_lid))_(?P<dur>10min|1h)$"
)


@dataclass(frozen=True)
class Track:
    """One ML-SUPERB track: its data and whether transcripts carry the LID tag.

    Attributes:
        name: ``mono_<iso>_<dur>``, ``multi_<dur>`` or ``multi_lid_<dur>``.
        kind: ``mono``, ``multi`` or ``multi_lid``.
        duration: Training data per language: ``10min`` or ``1h``.
        lang: The language of a monolingual track, else None.
    """

    name: str
    kind: str
    duration: str
    lang: Optional[str] = None

    @classmethod
    def parse(cls, name: str) -> "Track":
        """The track called ``name``.

        Raises:
            ValueError: ``name`` is not one of the forms above (the message lists them).
        """
        m = _TRACK.match(name)
        if m is None:
            raise ValueError(
                f"unknown track '{name}': use mono_<iso>_10min, mono_<iso>_1h, "
                "multi_10min, multi_1h, multi_lid_10min or multi_lid_1h"
            )
        kind = "mono" if m.group("lang") else m.group("kind")
        return cls(name, kind, m.group("dur"), m.group("lang"))

    @property
    def lid(self) -> bool:
        """Transcripts start with the language tag (joint ASR + LID)."""
        return self.kind == "multi_lid"

    @property
    def train_set(self) -> str:
        return f"train_{self.name}"

    @property
    def dev_set(self) -> str:
        return f"dev_{self.name}"

    @property
    def test_set(self) -> str:
        return f"test_{self.name}"

    @property
    def nlsyms(self) -> Optional[str]:
        """The non-linguistic symbols file of a LID track (the language tags)."""
        return f"data/nlsyms_{self.name}.txt" if self.lid else None

    def data_opts(self) -> List[str]:
        """Options of ``espnet2_ext.recipes.ml_superb.data_prep`` (through
        ``local/data.sh``)."""
        opts = ["--duration", self.duration, "--lid", str(self.lid).lower()]
        if self.lang:
            opts += ["--langs", self.lang]
        opts += ["--train_set", self.train_set, "--dev_set", self.dev_set]
        opts += ["--test_set", self.test_set]
        if self.nlsyms:
            opts += ["--nlsyms_out", self.nlsyms]
        return opts


def lr_tag(lr: float) -> str:
    """A learning rate as it appears in names: ``0.0001`` -> ``1e-4``, ``2.5e-3`` ->
    ``2.5e-3``."""
    mantissa, exponent = f"{lr:e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}"


@dataclass(frozen=True)
class Cell:
    """One run of the benchmark: a track, a frontend and a learning rate."""

    track: Track
    frontend: str
    lr: float

    @property
    def config_name(self) -> str:
        """The config (shared by the tracks): ``<frontend>_lr<lr>``."""
        return f"{self.frontend}_lr{lr_tag(self.lr)}"

    @property
    def tag(self) -> str:
        """The experiment tag: ``<track>_<frontend>_lr<lr>``."""
        return f"{self.track.name}_{self.config_name}"

    def exp(self, expdir: Path) -> Path:
        """The experiment directory ``asr.sh`` makes of the tag."""
        return Path(expdir) / f"asr_{self.tag}"


def plan(
    tracks: Sequence[Track], frontends: Sequence[str], lrs: Sequence[float]
) -> List[Cell]:
    """Every cell of the matrix, track by track, in the order given.

    Raises:
        ValueError: an unknown frontend, a non-positive learning rate, or a repeat.
    """
    unknown = [f for f in frontends if f not in FRONTENDS]
    if unknown:
        raise ValueError(f"unknown frontends {unknown}; valid: {list(FRONTENDS)}")
    bad = [lr for lr in lrs if not lr > 0]
    if bad:
        raise ValueError(f"learning rates must be positive; got {bad}")
    cells = [Cell(t, f, lr) for t in tracks for f in frontends for lr in lrs]
    tags = [c.tag for c in cells]
    repeated = sorted({t for t in tags if tags.count(t) > 1})
    if repeated:
        raise ValueError(f"the matrix repeats cells: {repeated}")
    return cells


def frontend_fragment(
    frontend: str, upstreams: Sequence[str], feature_cache: Optional[str] = None
) -> dict:
    """The config fragment of one frontend, with its upstream(s).

    Args:
        frontend: A key of :data:`FRONTENDS`.
        upstreams: Upstream specs (:func:`espnet2_ext.stages.rows.upstream_entry`: an
            s3prl name or a converted checkpoint file); the first is used by the
            one-upstream frontends, the first two by ``*_2up``.
        feature_cache: The SSL frontends' ``feature_cache`` (``"2GB"``: the frozen
            upstreams' hidden states are computed once per utterance); None leaves
            it out.

    Raises:
        ValueError: an unknown frontend, fewer upstreams than it needs, or a
            checkpoint path that names no file.
    """
    if frontend not in FRONTENDS:
        raise ValueError(f"unknown frontend '{frontend}'; valid: {list(FRONTENDS)}")
    spec = FRONTENDS[frontend]
    if len(upstreams) < spec.upstreams:
        raise ValueError(
            f"frontend '{frontend}' needs {spec.upstreams} upstream(s); "
            f"got {list(upstreams)}"
        )
    if spec.upstreams == 0:
        return load_fragment(FBANK_FRAGMENT)
    fragment = load_fragment(SSL_FRAGMENT)
    conf = {
        "upstreams": [rows.upstream_entry(u) for u in upstreams[: spec.upstreams]],
        **fragment["frontend_conf"],
    }
    if feature_cache is not None:
        conf["feature_cache"] = feature_cache
    conf.update(spec.settings)
    if spec.row is not None:
        conf = deep_merge(conf, compose(rows.row_fragments(spec.row))["frontend_conf"])
        conf["fbank_conf"] = dict(FBANK_CONF)
    return {**fragment, "frontend_conf": conf}


def cell_config(
    cell: Cell,
    model: dict,
    upstreams: Sequence[str],
    max_epoch: Optional[int] = None,
    feature_cache: Optional[str] = None,
) -> dict:
    """The training config of a cell: ``model`` + its frontend + its learning rate.

    Args:
        cell: The cell.
        model: The fixed model and training config (the protocol's YAML, loaded).
        upstreams: Upstream specs (:func:`frontend_fragment`).
        max_epoch: Overrides the model's ``max_epoch`` when given.
        feature_cache: The SSL frontends' feature cache size
            (:func:`frontend_fragment`).
    """
    for key in ("frontend", "frontend_conf"):
        if key in model:
            raise ValueError(
                f"the model config sets '{key}'; the benchmark sets the frontend"
            )
    config = deep_merge(
        copy.deepcopy(model), frontend_fragment(cell.frontend, upstreams, feature_cache)
    )
    config.setdefault("optim_conf", {})["lr"] = cell.lr
    if max_epoch is not None:
        config["max_epoch"] = max_epoch
    return config


def decode_dir(cell: Cell, dset: str, expdir: Path) -> Path:
    """Where ``asr.sh`` stage 12 writes a set's decoding of a cell."""
    return cell.exp(expdir) / f"decode_{dset}_{Path(INFERENCE_MODEL).stem}"


def score_path(cell: Cell, dset: str, expdir: Path) -> Path:
    """The ML-SUPERB scores of a decoded set: ``.../score_superb/result.json``."""
    return decode_dir(cell, dset, expdir) / "score_superb" / "result.json"
