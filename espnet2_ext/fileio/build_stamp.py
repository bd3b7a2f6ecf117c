"""Skip, resume or refuse a corpus build by its stage stamp.

A corpus builder (:mod:`espnet2_ext.recipes.mini_st.corpus`,
:mod:`espnet2_ext.recipes.mini_st.ssl_speech`,
:mod:`espnet2_ext.recipes.ml_superb.mini_corpus`) records the options its output
depends on in a stamp of :mod:`espnet2_ext.fileio.stamp`: ``<folder>/.done.running``
while it builds (:func:`~espnet2_ext.fileio.stamp.start_stamp`), ``<folder>/.done``
once it finished (:func:`~espnet2_ext.fileio.stamp.finish_stamp`). Before building it
asks :func:`check_build`, which answers as the stamp does, except that a folder built
from other options is not rebuilt but refused: the corpus may be in use, and only the
user decides to replace it.

- ``new``: no stamp and none of the build's outputs - build;
- ``resume``: an interrupted build from the same options - build, keeping the
  finished files;
- ``done``: a finished build from the same options - skip;
- other options, or outputs without a stamp: :class:`OtherBuildError`, one line that
  names the folder, what differs, and what to do (another folder, or ``--overwrite``).

Example::

    marker = outdir / ".done"
    stamp = make_stamp([], {"seed": 3})
    if check_build(marker, stamp, ["wav", "train"], "--outdir", overwrite) != "done":
        start_stamp(marker, stamp)
        ...  # build
        finish_stamp(marker)
"""

import shutil
from pathlib import Path
from typing import Sequence

from espnet2_ext.fileio.stamp import Stamp, check_stamp, log_check, running_path


class OtherBuildError(RuntimeError):
    """The output folder holds a build from other options, or files without a stamp."""


def remove_build(marker: Path, outputs: Sequence[str]) -> None:
    """Removes a build: its stamp (finished or running) and its outputs.

    Args:
        marker: The build's stamp, ``<folder>/.done``.
        outputs: Names of the files and folders the build writes in the folder.
    """
    folder = marker.parent
    for name in (*outputs, marker.name, running_path(marker).name):
        path = folder / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def check_build(
    marker: Path,
    stamp: Stamp,
    outputs: Sequence[str],
    folder_option: str,
    overwrite: bool = False,
) -> str:
    """Whether to build, resume or skip the build of ``stamp`` in ``marker``'s folder.

    Logs a skip or a resume (:func:`~espnet2_ext.fileio.stamp.log_check`).

    Args:
        marker: The build's stamp, ``<folder>/.done``.
        stamp: The options of this build (:func:`~espnet2_ext.fileio.stamp.make_stamp`).
        outputs: Names of the files and folders the build writes in the folder.
        folder_option: The command-line option that names the folder (``--outdir``),
            for the error message.
        overwrite: Remove a previous build first (:func:`remove_build`).

    Returns:
        ``"new"``, ``"resume"`` or ``"done"`` (see the module docstring).

    Raises:
        OtherBuildError: the folder holds a build from other options (the message
            names the first differences) or outputs without a stamp.
    """
    folder = marker.parent
    if overwrite:
        remove_build(marker, outputs)
    check = check_stamp(marker, stamp)
    advice = f"use another {folder_option}, or --overwrite to rebuild it"
    if check.status == "changed":
        raise OtherBuildError(
            f"{folder} was built with other arguments ({check.reason}); {advice}"
        )
    found = [name for name in outputs if (folder / name).exists()]
    if check.status == "new" and found:
        raise OtherBuildError(
            f"{folder} holds {', '.join(found)} but no stamp of how it was built"
            f" ({marker.name}); {advice}"
        )
    log_check(check, folder, "is already built with these arguments", "")
    return check.status
