"""espeak-ng phonemes, the inventory and the PER arithmetic."""

import torch

from espnet2_ext.upstream.ctc import edit_distance, error_rate, greedy_decode
from espnet2_ext.upstream.phonemes import (
    BLANK,
    build_inventory,
    encode,
    parse_espeak,
    phonemize,
)


def test_golden_phonemes():
    assert phonemize("Change your password now, please.") == (
        "tS eI n dZ j U@ p aa s w 3: d n aU p l i: z".split()
    )


def test_parse_drops_stress_and_pauses():
    assert parse_espeak("h @ l 'oU  _:  ,E n\nw 3: l d\n") == [
        "h",
        "@",
        "l",
        "oU",
        "E",
        "n",
        "w",
        "3:",
        "l",
        "d",
    ]


def test_inventory_is_computed_with_blank_first():
    inv = build_inventory([["b", "a"], ["a", "tS"]])
    assert inv == [BLANK, "a", "b", "tS"]
    assert encode(["tS", "x", "a"], inv) == [3, 1]


def test_edit_distance_and_greedy_decoding():
    assert edit_distance("kitten", "sitting") == 3
    assert error_rate([[1, 2, 3], [4]], [[1, 3], [4, 4]]) == 0.5
    logp = torch.log(torch.eye(4)[[1, 1, 0, 1, 2, 2, 3]])[None]
    assert greedy_decode(logp, torch.tensor([6])) == [[1, 1, 2]]
