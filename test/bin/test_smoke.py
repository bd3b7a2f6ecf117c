"""``make smoke``: the toy job through ESPnet's trainer, decoder and our scorer."""

import logging
import re

from espnet2_ext.bin import smoke
from espnet2_ext.fileio.kaldi_io import read_kaldi_map

ARGS = ["--epochs", "1", "--n_train", "8", "--n_valid", "4", "--models", "fbank_only"]


def test_smoke_trains_decodes_scores_and_skips_on_a_rerun(tmp_path, capsys, caplog):
    out = tmp_path / "demo"
    smoke.main(["--outdir", str(out), *ARGS])
    printed = capsys.readouterr().out.splitlines()
    assert printed[:2] == [
        "| model | valid BLEU | valid chrF | epochs | train s |",
        "|---|---|---|---|---|",
    ]
    assert re.fullmatch(
        r"\| fbank_only \| \d+\.\d \| \d+\.\d \| 1 \| \d+ \|", printed[2]
    )
    assert (out / "results.md").read_text().splitlines() == printed[:3]
    hyps = read_kaldi_map(out / "fbank_only" / "decode_valid" / "1best_recog" / "text")
    refs = read_kaldi_map(out / "data" / "valid" / "text.de")
    assert sorted(hyps) == sorted(refs) and len(refs) == 4

    with caplog.at_level(logging.INFO):
        smoke.main(["--outdir", str(out), *ARGS])
    assert f"{out / 'fbank_only'} already trained - skipping" in caplog.messages
    rerun = capsys.readouterr().out.splitlines()
    assert rerun[2].endswith("| 1 | nan |")  # nothing trained this time
    assert rerun[2].split("|")[2:4] == printed[2].split("|")[2:4]  # same scores
