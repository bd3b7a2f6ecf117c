"""The progress bar and example lists of the input checks."""

import pytest

from espnet2_ext.fileio.input_report import EXAMPLES_SHOWN, examples, progress


@pytest.mark.parametrize(
    "places, shown, expected",
    [
        ([], 2, ""),
        (["a:1"], 2, "a:1"),
        (["a:1", "a:2"], 2, "a:1, a:2"),
        (["a:1", "a:2", "b:7"], 2, "a:1, a:2 and 1 more"),
        ([f"f:{i}" for i in range(9)], 3, "f:0, f:1, f:2 and 6 more"),
    ],
)
def test_examples(places, shown, expected):
    assert examples(places, shown) == expected


def test_examples_shows_five_by_default():
    places = [f"f:{i}" for i in range(1, 8)]
    assert EXAMPLES_SHOWN == 5
    assert examples(places) == "f:1, f:2, f:3, f:4, f:5 and 2 more"


def test_progress_yields_every_item_in_order(capsys):
    items = ["c", "a", "b"]
    assert list(progress(items, "headers", "wav")) == items
    assert list(progress(iter(range(4)), "folders", "folder")) == [0, 1, 2, 3]
    # stderr is no terminal here: no bar lines in a log
    assert capsys.readouterr().err == ""
