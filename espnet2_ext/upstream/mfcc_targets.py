"""HuBERT's first-iteration targets: k-means clusters of MFCCs, at the model's 50 Hz.

Features are those of fairseq's ``simple_kmeans/dump_mfcc_feature.py``: 13 Kaldi MFCCs
(``torchaudio.compliance.kaldi.mfcc``, 25 ms windows every 10 ms, no energy, no dither)
with deltas and delta-deltas, 39 values per 100 Hz frame.

Alignment. HuBERT's convolutional encoder (kernel/stride ``(10,5) (3,2)x4 (2,2)x2``)
sees 400 samples every 320: model frame ``t`` covers samples ``[320 t, 320 t + 400)``,
centred at ``320 t + 200``. MFCC frame ``j`` covers ``[160 j, 160 j + 400)``, centred at
``160 j + 200``. So model frame ``t`` and MFCC frame ``2 t`` have the same centre and
the 50 Hz label of frame ``t`` is the cluster of MFCC frame ``2 t``, which always
exists (:func:`model_frames` ``<=`` ``(mfcc_frames + 1) // 2``).

Example::

    >>> feats = mfcc_features(torch.zeros(16000))   # (98, 39)
    >>> model_frames(16000), mfcc_frames(16000)
    (49, 98)
"""

from typing import List, Sequence

import numpy as np
import torch

SAMPLE_RATE = 16000
#: Receptive field and stride of HuBERT's convolutional encoder, in samples.
MODEL_WINDOW, MODEL_STRIDE = 400, 320
#: Kaldi MFCC window and shift at 16 kHz (25 ms, 10 ms), in samples.
MFCC_WINDOW, MFCC_SHIFT = 400, 160


def model_frames(num_samples: int) -> int:
    """Frames HuBERT's convolutional encoder gives for ``num_samples`` samples."""
    if num_samples < MODEL_WINDOW:
        return 0
    return (num_samples - MODEL_WINDOW) // MODEL_STRIDE + 1


def mfcc_frames(num_samples: int) -> int:
    """Frames of Kaldi MFCCs (``snip_edges``) for ``num_samples`` samples."""
    if num_samples < MFCC_WINDOW:
        return 0
    return (num_samples - MFCC_WINDOW) // MFCC_SHIFT + 1


def mfcc_features(wav: torch.Tensor) -> torch.Tensor:
    """MFCC + delta + delta-delta of one waveform.

    Args:
        wav: Samples (S,) in [-1, 1] at 16 kHz.

    Returns:
        Features (mfcc_frames(S), 39).
    """
    import torchaudio

    mfcc = torchaudio.compliance.kaldi.mfcc(
        wav.float()[None],
        sample_frequency=SAMPLE_RATE,
        use_energy=False,
        dither=0.0,
    )  # (T, 13)
    delta = torchaudio.functional.compute_deltas(mfcc.T)
    ddelta = torchaudio.functional.compute_deltas(delta)
    return torch.cat([mfcc.T, delta, ddelta], dim=0).T.contiguous()


def to_model_rate(frames_100hz: torch.Tensor, num_samples: int) -> torch.Tensor:
    """Picks the 100 Hz rows aligned with the model's 50 Hz frames (rows ``2 t``).

    Args:
        frames_100hz: Per-MFCC-frame values (mfcc_frames(S), ...).
        num_samples: S, the waveform length they come from.

    Returns:
        Rows (model_frames(S), ...).
    """
    n = model_frames(num_samples)
    assert frames_100hz.shape[0] == mfcc_frames(num_samples), (
        frames_100hz.shape[0],
        mfcc_frames(num_samples),
    )
    return frames_100hz[0 : 2 * n : 2]


def fit_kmeans(
    features: Sequence[torch.Tensor],
    num_clusters: int,
    seed: int,
    max_frames: int = 50000,
    max_iter: int = 20,
    n_init: int = 1,
):
    """Fits ``MiniBatchKMeans`` on MFCC frames.

    fairseq's ``learn_kmeans.py`` settings except the effort: ``max_iter`` 20 (not
    100), ``n_init`` 1 (not 20) and early stopping after 10 batches without
    improvement, which keeps the fit to seconds on a CPU.

    Args:
        features: Per-utterance features (T_i, 39).
        num_clusters: Clusters (label vocabulary).
        seed: Seed of the frame sample and of k-means.
        max_frames: Frames drawn for fitting (all if fewer).
        max_iter: Passes over the drawn frames at most.
        n_init: Initialisations tried.

    Returns:
        The fitted ``sklearn.cluster.MiniBatchKMeans``.
    """
    from sklearn.cluster import MiniBatchKMeans
    from threadpoolctl import threadpool_limits

    x = torch.cat(list(features)).numpy().astype(np.float32)
    if x.shape[0] > max_frames:
        rng = np.random.default_rng(seed)
        x = x[np.sort(rng.choice(x.shape[0], max_frames, replace=False))]
    if x.shape[0] < num_clusters:
        raise ValueError(f"{x.shape[0]} MFCC frames for {num_clusters} clusters")
    km = MiniBatchKMeans(
        n_clusters=num_clusters,
        init="k-means++",
        max_iter=max_iter,
        batch_size=10000,
        tol=0.0,
        max_no_improvement=10,
        n_init=n_init,
        reassignment_ratio=0.0,
        random_state=seed,
    )
    # NOTE: one BLAS/OpenMP thread: the same clusters on any machine, and on a
    # shared CPU many times faster than sklearn's default of one thread per core
    with threadpool_limits(limits=1):
        return km.fit(x)


def frame_labels(
    km, features: Sequence[torch.Tensor], num_samples: Sequence[int]
) -> List[torch.Tensor]:
    """50 Hz cluster labels of each utterance.

    Args:
        km: Fitted k-means.
        features: Per-utterance MFCC features (mfcc_frames(S_i), 39).
        num_samples: Waveform lengths S_i.

    Returns:
        Labels (model_frames(S_i),) int64 per utterance.
    """
    from threadpoolctl import threadpool_limits

    rows = [to_model_rate(f, n) for f, n in zip(features, num_samples)]
    with threadpool_limits(limits=1):
        flat = km.predict(torch.cat(rows).numpy().astype(np.float32))
    flat = torch.as_tensor(np.asarray(flat, dtype=np.int64))
    return list(flat.split([len(r) for r in rows]))
