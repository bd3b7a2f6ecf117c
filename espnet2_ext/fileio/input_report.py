"""What a check of input files tells the user while it reads them and after.

Used by the data preps of the real corpora (:mod:`espnet2_ext.recipes.mustc.data_prep`,
:mod:`espnet2_ext.recipes.ml_superb.data_prep`): a progress bar over the files read,
and the ``file:line`` places a warning names.

Example::

    >>> examples(["a.txt:1", "a.txt:4", "b.txt:2"], shown=2)
    'a.txt:1, a.txt:4 and 1 more'
"""

from typing import Iterable, Sequence, TypeVar

Item = TypeVar("Item")

#: How many places a warning names by default.
EXAMPLES_SHOWN = 5


def progress(items: Iterable[Item], desc: str, unit: str) -> Iterable[Item]:
    """``items``, with a progress bar on stderr while they are consumed.

    The bar is refreshed at most once a second and is off when stderr is not a
    terminal (a log file gets no bar lines).

    Args:
        items: what is read, one step each (a sized sequence shows the total).
        desc: what the bar counts ("dev wav headers").
        unit: the unit of one step ("wav", "folder").

    Returns:
        An iterable yielding ``items`` in order.
    """
    from tqdm import tqdm

    return tqdm(items, desc=desc, unit=unit, mininterval=1.0, disable=None)


def examples(places: Sequence[str], shown: int = EXAMPLES_SHOWN) -> str:
    """The first ``shown`` of ``places``, comma-separated, then how many more.

    Args:
        places: what a warning names (``"data/dev.de:12"``), in order.
        shown: how many are written out.

    Returns:
        ``"p1, p2, p3"``, or ``"p1, p2 and 3 more"`` when there are more than
        ``shown``.
    """
    more = len(places) - shown
    return ", ".join(places[:shown]) + (f" and {more} more" if more > 0 else "")
