"""Discrete SSL units: k-means codebook over one upstream layer and the ``units`` view.

The GSGN paper's S-feature is not the continuous SSL output but HuBERT unit ids: one
hidden layer is quantised by k-means (500 units) and the ids are embedded. This module
holds the three pieces:

- :func:`fit_codebook`: scikit-learn ``MiniBatchKMeans`` with the settings of HuBERT's
  ``simple_kmeans/learn_kmeans.py`` (k-means++, ``n_init=20``, ``tol=0``,
  ``reassignment_ratio=0``), deterministic given ``seed``. The recipe stage
  ``python -m espnet2_ext.stages.fit_units`` runs it over a training subset.
- :func:`save_codebook` / :func:`load_codebook`: the codebook file, a ``torch.save`` of
  the plain dict ``{"centroids": FloatTensor (K, D), "meta": {...}}`` that loads with
  ``torch.load(weights_only=True)``. ``meta`` records ``upstream``, ``path_or_url``,
  ``layer`` (a non-negative index into s3prl's list of hidden states), ``num_layers``,
  ``num_units``, ``dim``, ``seed`` and ``num_frames`` (frames the codebook was fitted
  on).
- :func:`assign_units` and :class:`UnitsView`: nearest-centroid ids at run time and an
  ``nn.Embedding`` lookup, ``(L, B, T, D_u) -> (B, T, output_dim)``.
"""

from pathlib import Path
from typing import Optional, Tuple, Union

import numpy as np
import torch
from typeguard import typechecked

from espnet2_ext.utils.atomic import atomic_path
from espnet2_ext.utils.espnet_compat import make_pad_mask

#: Keys every codebook file holds at the top level.
CODEBOOK_KEYS = ("centroids", "meta")


# ----------------------------------------------------------------------- fitting
def fit_codebook(
    features: np.ndarray,
    num_units: int,
    seed: int = 0,
    batch_size: int = 10000,
    max_iter: int = 100,
    n_init: int = 20,
) -> np.ndarray:
    """Fits a k-means codebook with scikit-learn's ``MiniBatchKMeans``.

    The settings follow HuBERT's ``learn_kmeans.py`` (k-means++ initialisation,
    ``tol=0.0``, ``max_no_improvement=100``, ``reassignment_ratio=0.0``); with
    ``random_state=seed`` and a fixed ``n_init`` two fits on the same data give the
    same centroids.

    Args:
        features: Frames (N, D); converted to float32.
        num_units: Number of centroids K (1 <= K <= N).
        seed: Random state of the initialisation and the mini-batches.
        batch_size: Mini-batch size.
        max_iter: Maximum passes over the data.
        n_init: Number of k-means++ initialisations tried (the best one is kept).

    Returns:
        Centroids (K, D), float32.
    """
    from sklearn.cluster import MiniBatchKMeans

    features = np.asarray(features, dtype=np.float32)
    if features.ndim != 2:
        raise ValueError(f"features must be (N, D); got shape {features.shape}")
    if not 1 <= num_units <= features.shape[0]:
        raise ValueError(
            f"num_units must be between 1 and the number of frames "
            f"({features.shape[0]}); got {num_units}"
        )
    if not np.isfinite(features).all():
        raise ValueError("features contain NaN or infinite values")
    km = MiniBatchKMeans(
        n_clusters=num_units,
        init="k-means++",
        max_iter=max_iter,
        batch_size=batch_size,
        tol=0.0,
        max_no_improvement=100,
        n_init=n_init,
        reassignment_ratio=0.0,
        compute_labels=False,
        random_state=seed,
    )
    km.fit(features)
    return km.cluster_centers_.astype(np.float32)


# ------------------------------------------------------------------- file format
def save_codebook(
    path: Union[str, Path],
    centroids: Union[np.ndarray, torch.Tensor],
    meta: dict,
) -> Path:
    """Writes a codebook file (atomically: a temporary file is renamed into place).

    Args:
        path: Output file; parent folders are created.
        centroids: Centroids (K, D).
        meta: Plain values (str, int, float, bool, None, lists/dicts of them) describing
            the codebook, e.g. ``upstream``, ``layer``, ``seed``, ``num_frames``.
            ``num_units`` and ``dim`` are filled in from ``centroids``.

    Returns:
        The path written.
    """
    centroids = torch.as_tensor(np.asarray(centroids), dtype=torch.float32)
    if centroids.dim() != 2 or centroids.numel() == 0:
        raise ValueError(
            f"centroids must be a non-empty (K, D) array; got {tuple(centroids.shape)}"
        )
    meta = dict(meta)
    for key, value in (("num_units", centroids.size(0)), ("dim", centroids.size(1))):
        if meta.setdefault(key, value) != value:
            raise ValueError(f"meta[{key!r}]={meta[key]} but centroids give {value}")
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save({"centroids": centroids.contiguous().clone(), "meta": meta}, tmp)
    return path


def load_codebook(path: Union[str, Path]) -> Tuple[torch.Tensor, dict]:
    """Reads a codebook file written by :func:`save_codebook`.

    Args:
        path: Codebook file.

    Returns:
        Centroids (K, D) as a float32 tensor on the CPU, and the meta dict.

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError: The file is not a codebook (names the file and what is wrong).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"k-means codebook '{path}' does not exist; fit one with "
            "'python -m espnet2_ext.stages.fit_units'"
        )
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise ValueError(
            f"'{path}' is not a readable codebook file "
            f"(torch.load(weights_only=True) failed: {type(e).__name__}: {e})"
        ) from e
    if not isinstance(data, dict) or set(data) != set(CODEBOOK_KEYS):
        got = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise ValueError(
            f"'{path}' is not a codebook file: expected a dict with keys "
            f"{list(CODEBOOK_KEYS)}; got {got}"
        )
    centroids, meta = data["centroids"], data["meta"]
    if (
        not isinstance(centroids, torch.Tensor)
        or centroids.dim() != 2
        or centroids.numel() == 0
        or not centroids.is_floating_point()
    ):
        raise ValueError(
            f"codebook '{path}': 'centroids' must be a non-empty floating (K, D) "
            f"tensor; got {_describe(centroids)}"
        )
    if not isinstance(meta, dict):
        raise ValueError(
            f"codebook '{path}': 'meta' must be a dict; got {type(meta).__name__}"
        )
    if meta.get("num_units", centroids.size(0)) != centroids.size(0):
        raise ValueError(
            f"codebook '{path}': meta says {meta['num_units']} units but there are "
            f"{centroids.size(0)} centroids"
        )
    return centroids.float(), meta


def _describe(x) -> str:
    if isinstance(x, torch.Tensor):
        return f"{x.dtype} tensor of shape {tuple(x.shape)}"
    return type(x).__name__


# -------------------------------------------------------------------- assignment
def assign_units(feats: torch.Tensor, centroids: torch.Tensor) -> torch.Tensor:
    """Nearest-centroid unit ids by squared Euclidean distance.

    Distances use ``||x||^2 - 2 x.c + ||c||^2`` (a (B*T, K) matrix; no (B, T, K, D)
    tensor), in float32 or the wider of the two input dtypes. Ties go to the lowest
    index (``argmin`` semantics).

    Args:
        feats: Frames (B, T, D).
        centroids: Centroids (K, D).

    Returns:
        Unit ids (B, T), int64, in ``[0, K)``.
    """
    if feats.dim() != 3 or centroids.dim() != 2 or feats.size(-1) != centroids.size(1):
        raise ValueError(
            f"assign_units expects feats (B, T, D) and centroids (K, D) of the same D; "
            f"got {tuple(feats.shape)} and {tuple(centroids.shape)}"
        )
    dtype = torch.promote_types(
        torch.promote_types(feats.dtype, centroids.dtype), torch.float32
    )
    x = feats.reshape(-1, feats.size(-1)).to(dtype)
    c = centroids.to(device=x.device, dtype=dtype)
    dist = (
        x.pow(2).sum(-1, keepdim=True) - 2.0 * (x @ c.t()) + c.pow(2).sum(-1)[None, :]
    )
    return dist.argmin(dim=-1).reshape(feats.shape[:2])


# -------------------------------------------------------------------------- view
class UnitsView(torch.nn.Module):
    """S-feature as discrete units: one SSL layer → k-means ids → embedding.

    The codebook is read from ``codebook`` at construction and kept as the
    **persistent** buffer ``centroids`` (K, D_u): it is saved in the model's state dict,
    so a trained model carries the exact codebook it was trained with and loading its
    checkpoint overrides whatever the file holds at decoding time (the file is still
    read at construction, for K and D_u). The buffer is never trained. The only
    parameters are those of ``nn.Embedding(K, output_dim)``.
    """

    @typechecked
    def __init__(self, codebook: str, output_dim: int, layer: Optional[int] = None):
        """Builds the view.

        Args:
            codebook: Codebook file written by :func:`save_codebook`.
            output_dim: Embedding width D.
            layer: Index into the L hidden states given to ``forward`` (negative counts
                from the end); defaults to the layer the codebook was fitted on
                (``meta["layer"]``).
        """
        super().__init__()
        if output_dim < 1:
            raise ValueError(f"output_dim must be >= 1; got {output_dim}")
        centroids, meta = load_codebook(codebook)
        if layer is None:
            if not isinstance(meta.get("layer"), int):
                raise ValueError(
                    f"codebook '{codebook}' does not record its layer in meta; "
                    "give 'layer' explicitly"
                )
            layer = meta["layer"]
        self.codebook_path = str(codebook)
        self.meta = dict(meta)
        self.layer = layer
        self.num_units, self.dim = centroids.shape
        self.output_dim = output_dim
        self.register_buffer("centroids", centroids, persistent=True)
        self.embed = torch.nn.Embedding(self.num_units, output_dim)

    def output_size(self) -> int:
        return self.output_dim

    def check_upstream(self, num_layers: int, dim: int) -> None:
        """Fails early unless the codebook fits an upstream's hidden states.

        Called by the frontend right after the upstream is loaded, so a codebook fitted
        on another upstream (or another layer count) stops the run at construction
        instead of at the first batch.

        Args:
            num_layers: Hidden states the upstream returns (L).
            dim: Their width D_u.

        Raises:
            ValueError: The layer is out of range or the widths differ (names the
                codebook file and what it was fitted on).
        """
        fitted = (
            f"(fitted on upstream={self.meta.get('upstream')!r}, "
            f"path_or_url={self.meta.get('path_or_url')!r}, "
            f"layer {self.meta.get('layer')})"
        )
        if not -num_layers <= self.layer < num_layers:
            raise ValueError(
                f"codebook '{self.codebook_path}': layer {self.layer} is out of range "
                f"for an upstream with {num_layers} hidden states {fitted}"
            )
        if dim != self.dim:
            raise ValueError(
                f"codebook '{self.codebook_path}' has width {self.dim} but the "
                f"upstream's hidden states have width {dim} {fitted}: refit it on "
                "this upstream with 'python -m espnet2_ext.stages.fit_units'"
            )

    def extra_repr(self) -> str:
        return (
            f"codebook={self.codebook_path!r}, layer={self.layer}, "
            f"num_units={self.num_units}, dim={self.dim}"
        )

    def units(
        self, hs: torch.Tensor, lengths: Optional[torch.Tensor] = None
    ) -> torch.Tensor:
        """Unit ids of the chosen layer.

        Args:
            hs: Hidden states (L, B, T, D_u).
            lengths: Valid frames per utterance (B,); padded frames get id -1.

        Returns:
            Unit ids (B, T), int64.
        """
        if hs.dim() != 4:
            raise ValueError(
                f"UnitsView expects hidden states (L, B, T, D); got {tuple(hs.shape)}"
            )
        num_layers = hs.size(0)
        if not -num_layers <= self.layer < num_layers:
            raise ValueError(
                f"UnitsView layer {self.layer} is out of range for {num_layers} hidden "
                f"states (codebook '{self.codebook_path}')"
            )
        if hs.size(-1) != self.dim:
            raise ValueError(
                f"codebook '{self.codebook_path}' has width {self.dim} but the "
                f"upstream hidden states have width {hs.size(-1)}: the codebook was "
                f"fitted on a different upstream "
                f"(meta: upstream={self.meta.get('upstream')!r})"
            )
        ids = assign_units(hs[self.layer].detach(), self.centroids)
        if lengths is not None:
            ids = ids.masked_fill(make_pad_mask(lengths, ids), -1)
        return ids

    def forward(
        self, hs: torch.Tensor, lengths: Optional[torch.Tensor] = None
    ) -> torch.Tensor:
        """Embedded unit ids of one layer.

        Args:
            hs: Hidden states (L, B, T, D_u).
            lengths: Valid frames per utterance (B,); frames at or beyond it are zero.

        Returns:
            Embeddings (B, T, output_dim).
        """
        ids = self.units(hs, lengths)
        valid = ids >= 0
        out = self.embed(ids.clamp(min=0))
        return out * valid.unsqueeze(-1).to(out.dtype)
