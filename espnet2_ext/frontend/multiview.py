"""The ``multiview`` ESPnet frontend: FBank and SSL views of one waveform, fused.

::

    waveform ─┬─ FBank (ESPnet DefaultFrontend) ─ rate alignment ─ Linear ─ x_f
              └─ s3prl upstream(s): L×(B,T',D) ─ layer fusion ─ interface ─ Linear ─ x_s
                                    (or: discrete units ─ Embedding; or: noise)
    x_f, x_s: (B,T,D)
    x_f, x_s ─ fusion (gsgn | concat | sum | fbank | ssl) ─ (B,T,D_out)

Every dimension is derived from the loaded upstream(s) and the options, so
:meth:`MultiViewFrontend.output_size` is right as soon as the object exists. A config
(``frontend: multiview``)::

    frontend_conf:
      upstreams: [{name: hubert_local, path_or_url: exp/upstream/hubert.pt}]
      interface: hconv
      rate: ssl
      dim: 256
      fusion: gsgn
      fusion_conf: {gate_loss_weight: 1.0, branch_dropout: [[1, 0.3, 0.0]]}

Frame hops in samples: ``hop_length`` is the hop of the output frames (the SSL stride,
320, with ``rate: ssl``; the FBank hop, 160, with ``rate: fbank``), as for ESPnet's
own frontends; ``fbank_hop`` and ``stride`` are the hops of the FBank and SSL views.

The SSL upstream lives at ``frontend.upstream`` (a ``ModuleList`` when there are
several), so ESPnet's ``freeze_param: [frontend.upstream]`` addresses it. With
``freeze_upstream: true`` (default) it stays in eval mode and runs without autograd,
and ``feature_cache: 2GB`` keeps its hidden states per utterance, so each waveform goes
through it once (:mod:`espnet2_ext.frontend.feature_cache`).
"""

from typing import Dict, List, Optional, Tuple, Union

import humanfriendly
import torch
from espnet2.asr.frontend.abs_frontend import AbsFrontend
from espnet2.asr.frontend.default import DefaultFrontend
from typeguard import typechecked

from espnet2_ext.frontend import upstreams as ups
from espnet2_ext.frontend.alignment import (
    RATES,
    align_views,
    mask_frames,
    mask_samples,
    repeat_frames,
    resample_frames,
    stack_frames,
)
from espnet2_ext.frontend.feature_cache import FeatureCache
from espnet2_ext.frontend.fusion import build_fusion
from espnet2_ext.frontend.interfaces import build_interface
from espnet2_ext.frontend.layer_fusion import MultiUpstreamLayerFusion
from espnet2_ext.frontend.noise import NoiseView
from espnet2_ext.frontend.units import UnitsView

#: ESPnet DefaultFrontend settings of the FBank view (80-dim log-mel, 25 ms / 10 ms).
FBANK_DEFAULTS = dict(n_fft=400, win_length=400, hop_length=160, n_mels=80)
SSL_VIEWS = ("features", "units", "noise")


class MultiViewFrontend(AbsFrontend):
    """FBank + SSL-layer fusion frontend (see the module docstring)."""

    @typechecked
    def __init__(
        self,
        fs: Union[int, str] = 16000,
        upstreams: Optional[List[dict]] = None,
        upstream_fusion: str = "sum",
        interface: str = "weighted_sum",
        interface_conf: Optional[dict] = None,
        ssl_view: str = "features",
        units_conf: Optional[dict] = None,
        fbank_conf: Optional[dict] = None,
        rate: str = "ssl",
        dim: int = 256,
        output_dim: Optional[int] = None,
        fusion: str = "gsgn",
        fusion_conf: Optional[dict] = None,
        freeze_upstream: bool = True,
        feature_cache: Optional[Union[int, str]] = None,
    ):
        """Builds the views and the fusion.

        Args:
            fs: Sampling rate (ESPnet passes strings like ``"16k"``); must be 16 kHz,
                the rate of every s3prl upstream.
            upstreams: s3prl upstream dicts (``name``, optional ``path_or_url``,
                ``normalize``, ``extra_conf``). Not needed when ``fusion: fbank``.
            upstream_fusion: With several upstreams: ``sum`` (HConv fusion) or
                ``concat`` (CHConv: concat along width + shared projection).
            interface: Layer interface: ``weighted_sum``, ``hconv``, ``concat_proj``,
                ``last`` or ``single`` (with ``interface_conf: {layer: k}``).
            interface_conf: Extra options of the interface.
            ssl_view: ``features`` (layer interface), ``units`` (k-means unit ids of
                one layer → embedding, needs ``units_conf: {codebook: path}``) or
                ``noise`` (uniform noise in the S-feature's range; Table II ablation).
            units_conf: Options of :class:`UnitsView` (``codebook``, ``layer``).
            fbank_conf: Overrides of :data:`FBANK_DEFAULTS` (ESPnet DefaultFrontend).
            rate: Common frame rate: ``ssl`` stacks FBank frames to the SSL rate,
                ``fbank`` repeats SSL frames to the FBank rate.
            dim: Width D of both views before fusion.
            output_dim: Width of the fused output (default ``dim``).
            fusion: ``gsgn``, ``concat``, ``sum``, ``fbank`` (FBank only) or ``ssl``.
            fusion_conf: Extra options of the fusion (e.g. GSGN's gate loss weight and
                branch-dropout schedule).
            freeze_upstream: Keep the SSL upstream frozen (eval mode, no autograd).
            feature_cache: Keep the frozen upstreams' hidden states per utterance
                within this many bytes (``"2GB"``; split equally between
                upstreams), so later epochs reuse them; None computes them in every
                step. Needs ``freeze_upstream``; ignored without an SSL view.
        """
        super().__init__()
        if isinstance(fs, str):
            fs = humanfriendly.parse_size(fs)
        if fs != 16000:
            raise ValueError(f"s3prl upstreams expect 16 kHz audio; got fs={fs}")
        if ssl_view not in SSL_VIEWS:
            raise ValueError(f"ssl_view must be one of {SSL_VIEWS}; got '{ssl_view}'")
        if rate not in RATES:
            raise ValueError(f"rate must be one of {RATES}; got '{rate}'")
        self.rate = rate
        self.ssl_view = ssl_view
        self.freeze_upstream = freeze_upstream
        if isinstance(feature_cache, str):
            feature_cache = humanfriendly.parse_size(feature_cache)
        if feature_cache is not None and not freeze_upstream:
            raise ValueError(
                "feature_cache needs freeze_upstream: true (a trained upstream's "
                "features change with every update)"
            )
        self.uses_fbank = fusion != "ssl"
        self.uses_ssl = fusion != "fbank"

        fbank_conf = {**FBANK_DEFAULTS, **(fbank_conf or {})}
        self.fbank_hop = fbank_conf["hop_length"]  # samples per FBank frame
        self.fbank = DefaultFrontend(fs=fs, **fbank_conf) if self.uses_fbank else None

        self._upstream_specs: List[dict] = []
        stride = 2 * self.fbank_hop  # SSL-rate frames when no upstream is loaded
        self._feature_caches: List[Optional[FeatureCache]] = []
        if self.uses_ssl:
            stride = self._build_ssl_view(
                upstreams, upstream_fusion, interface, interface_conf, units_conf, dim
            )
            n = len(self._upstream_specs)
            self._feature_caches = [
                None if feature_cache is None else FeatureCache(feature_cache // n)
                for _ in range(n)
            ]
        if stride % self.fbank_hop:
            raise ValueError(
                f"the SSL stride ({stride} samples) must be a multiple of the "
                f"FBank hop ({self.fbank_hop})"
            )
        self.stride = stride  # samples per SSL frame
        self.factor = stride // self.fbank_hop
        # NOTE: hop_length is the hop of the OUTPUT frames, the meaning ESPnet's
        # S3prlFrontend and FusedFrontends give it (and users read), not the FBank hop.
        self.hop_length = stride if rate == "ssl" else self.fbank_hop
        if self.uses_fbank:
            n_mels = fbank_conf["n_mels"]
            fbank_width = n_mels * self.factor if rate == "ssl" else n_mels
            self.fbank_proj = torch.nn.Linear(fbank_width, dim)
        self.fusion = build_fusion(
            fusion, dim=dim, output_dim=output_dim or dim, **(fusion_conf or {})
        )

    def _build_ssl_view(
        self,
        upstreams: Optional[List[dict]],
        upstream_fusion: str,
        interface: str,
        interface_conf: Optional[dict],
        units_conf: Optional[dict],
        dim: int,
    ) -> int:
        """Loads the upstream(s) and builds what turns their layers into x_s.

        Returns:
            The frame stride (samples) of the SSL view.
        """
        self._upstream_specs = ups.specs_from_config(upstreams)
        loaded = [ups.load_upstream(s) for s in self._upstream_specs]
        infos = [ups.upstream_info(u) for u in loaded]
        self.upstream_strides = [i.stride for i in infos]
        self.upstream = loaded[0] if len(loaded) == 1 else torch.nn.ModuleList(loaded)
        if self.freeze_upstream:
            self.upstream.requires_grad_(False)
            self.upstream.eval()
        if self.ssl_view == "units":  # unit ids of one layer of the first upstream
            self.units = UnitsView(output_dim=dim, **(units_conf or {}))
            self.units.check_upstream(infos[0].num_layers, infos[0].dim)
            return infos[0].stride
        self.layer_fusion = MultiUpstreamLayerFusion(
            num_layers=[i.num_layers for i in infos],
            dims=[i.dim for i in infos],
            mode=upstream_fusion,
        )
        self.interface = build_interface(
            interface,
            num_layers=self.layer_fusion.num_layers,
            dim=self.layer_fusion.output_size(),
            **(interface_conf or {}),
        )
        self.ssl_proj = torch.nn.Linear(self.interface.output_size(), dim)
        if self.ssl_view == "noise":
            # The S-feature only sets the noise range here: nothing downstream of the
            # upstream can learn, so its (random) maps are fixed; DDP then needs no
            # unused-parameter search.
            for module in (self.layer_fusion, self.interface, self.ssl_proj):
                module.requires_grad_(False)
            self.noise = NoiseView(dim)
        return infos[0].stride

    def output_size(self) -> int:
        return self.fusion.output_size()

    def diagnostics(self) -> Dict[str, torch.Tensor]:
        """The fusion's current diagnostics, for the training stats.

        The frontend reports nothing by itself (it knows nothing of ESPnet's trainer or
        task); the task side calls this after each training forward and merges the
        values into the model's stats (:mod:`espnet2_ext.train.frontend_stats`).
        With ``fusion: gsgn`` these are ``loss_gate``, ``gate_cos``, ``gate_conflict``,
        ``gate_mean`` and ``gate_above1`` as detached 0-dim tensors, written by GSGN's
        backward pass: read after a forward they describe the *previous* step (one
        step late), and they are NaN before the first backward. Fusions without
        diagnostics return ``{}``.

        Returns:
            A new dict ``name -> detached 0-dim tensor`` (empty for the simple fusions).
        """
        return self.fusion.diagnostics()

    def train(self, mode: bool = True) -> "MultiViewFrontend":
        super().train(mode)
        if self.uses_ssl and self.freeze_upstream:
            self.upstream.eval()  # frozen: no dropout, no masking in the upstream
        return self

    def _upstream_modules(self) -> List[torch.nn.Module]:
        if isinstance(self.upstream, torch.nn.ModuleList):
            return list(self.upstream)
        return [self.upstream]

    def reload_pretrained_parameters(self) -> None:
        """Restores the SSL upstream(s) after ESPnet's ``init:`` re-initialisation."""
        if self.uses_ssl:
            for module, spec in zip(self._upstream_modules(), self._upstream_specs):
                ups.reload_upstream(module, spec)

    # ------------------------------------------------------------------ views
    def _fbank_view(
        self, speech: torch.Tensor, lengths: torch.Tensor
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """FBank (B, T_f, n_mels) and its per-utterance frame counts."""
        return self.fbank(speech, lengths)

    def _ssl_layers(
        self, speech: torch.Tensor, lengths: torch.Tensor
    ) -> Tuple[List[torch.Tensor], torch.Tensor]:
        """Hidden-state stacks (L_i, B, T, D_i) of every upstream at a common rate."""
        stacks, lens = [], None
        for module, stride, cache in zip(
            self._upstream_modules(), self.upstream_strides, self._feature_caches
        ):

            def compute(module=module):
                return ups.run_upstream(module, speech, lengths, self.freeze_upstream)

            if cache is None:
                hs, hs_lens = compute()
            else:
                hs, hs_lens = cache.run(compute, speech, lengths)
            if stride != self.stride:
                L, B, T, D = hs.shape
                flat = hs.permute(1, 2, 0, 3).reshape(B, T, L * D)
                flat, hs_lens = resample_frames(flat, hs_lens, stride, self.stride)
                hs = flat.reshape(B, -1, L, D).permute(2, 0, 1, 3)
            stacks.append(hs)
            lens = hs_lens if lens is None else torch.minimum(lens, hs_lens)
        t_max = min(int(lens.max()), min(h.size(2) for h in stacks))
        return [h[:, :, :t_max] for h in stacks], lens.clamp(max=t_max)

    def _ssl_view(
        self, speech: torch.Tensor, lengths: torch.Tensor
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """The S-feature x_s (B, T', D) at the upstream's frame rate."""
        stacks, lens = self._ssl_layers(speech, lengths)
        if self.ssl_view == "units":
            return self.units(stacks[0], lens), lens
        if self.ssl_view == "noise":
            with torch.no_grad():
                x_s = self.ssl_proj(self.interface(self.layer_fusion(stacks)))
            return self.noise(x_s, lens), lens
        return self.ssl_proj(self.interface(self.layer_fusion(stacks))), lens

    # ---------------------------------------------------------------- forward
    def forward(
        self, input: torch.Tensor, input_lengths: torch.Tensor
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Fused features of a batch of waveforms.

        Args:
            input: Waveforms (B, S).
            input_lengths: Valid samples per utterance (B,).

        Returns:
            Features (B, T, D_out), zero beyond each length, and frames per
            utterance (B,): the per-utterance minimum over the aligned views.
        """
        input = mask_samples(input, input_lengths)  # padding content must not matter
        if self.uses_fbank and self.uses_ssl:
            x_f, f_lens = self._fbank_view(input, input_lengths)
            x_s, s_lens = self._ssl_view(input, input_lengths)
            x_f, x_s, lens = align_views(
                x_f, f_lens, x_s, s_lens, self.rate, self.factor
            )
            x_f = self.fbank_proj(x_f)
        elif self.uses_fbank:  # FBank-only baseline: no upstream is run
            x_f, lens = self._fbank_view(input, input_lengths)
            if self.rate == "ssl":
                x_f, lens = stack_frames(x_f, lens, self.factor)
            x_f = x_s = self.fbank_proj(x_f)  # the fusion reads only x_f
        else:  # SSL-only baseline: no FBank is computed
            x_s, lens = self._ssl_view(input, input_lengths)
            if self.rate == "fbank":
                x_s, lens = repeat_frames(x_s, lens, self.factor)
            x_f = x_s  # the fusion reads only x_s
        y = self.fusion(x_f, x_s, lens)
        return mask_frames(y, lens), lens
