"""Where results that outlive a recipe clone are kept (trained upstreams, probes)."""

import os
from pathlib import Path


def cache_root() -> Path:
    """``${ESPNET2_EXT_CACHE:-${XDG_CACHE_HOME:-~/.cache}/espnet2_ext}``."""
    if os.environ.get("ESPNET2_EXT_CACHE"):
        return Path(os.environ["ESPNET2_EXT_CACHE"])
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "espnet2_ext"
