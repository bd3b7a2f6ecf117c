"""Files installed with the package: the config presets under ``espnet2_ext/conf``.

The presets (``model/``, ``frontend/``, ``fusion/``, ``decode/`` fragments and the
default ``slurm.conf``) are package data, so an installed package (``pip install .``,
not only an editable checkout) finds them. Recipes link them into their ``conf/``.

Example::

    >>> conf_path("fusion/gsgn.yaml").name
    'gsgn.yaml'
"""

from pathlib import Path

#: The package's ``conf/``.
CONF_ROOT = Path(__file__).resolve().parents[1] / "conf"


def conf_path(relative: str) -> Path:
    """The preset ``relative`` (``fusion/gsgn.yaml``) under :data:`CONF_ROOT`.

    Raises:
        FileNotFoundError: naming the preset and where it was looked for.
    """
    path = CONF_ROOT / relative
    if not path.is_file():
        raise FileNotFoundError(
            f"no preset {relative} in {CONF_ROOT}: reinstall espnet2_ext"
            " (its conf/ is package data)"
        )
    return path
