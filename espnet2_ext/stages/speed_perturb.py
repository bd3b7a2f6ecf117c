"""Stage 2: speed-perturbed copies of a data dir (Kaldi/ESPnet convention).

For each factor f != 1.0, every utterance ``u`` gets a copy ``sp{f}-u`` whose
``wav.scp`` entry pipes the audio through ``sox ... speed f`` (tempo and pitch change
together, as in Kaldi's perturb_data_dir_speed.sh); stage 3 (format) runs the pipes and
writes plain 16 kHz wavs. Text files and ``utt2spk`` (speakers ``sp{f}-spk``) are
copied; factor 1.0 keeps the original ids. Writes ``.done`` last, recording the input
files and factors (:mod:`espnet2_ext.fileio.stamp`): a re-run skips while they are
unchanged and perturbs again (saying why) otherwise.

Usage::

    python -m espnet2_ext.stages.speed_perturb --src data/train --dst data/train_sp \\
        --factors 0.9 1.0 1.1
"""

import argparse
import logging
import shlex
import shutil
from pathlib import Path
from typing import Dict, List

from espnet2_ext.fileio.kaldi_io import read_kaldi_map, write_kaldi_map
from espnet2_ext.fileio.stamp import check_stamp, log_check, make_stamp, write_stamp
from espnet2_ext.utils.log import setup_logging


def perturbed_entry(entry: str, factor: float) -> str:
    """The wav.scp value playing ``entry`` (path or ``cmd |`` pipe) at ``factor``."""
    if entry.rstrip().endswith("|"):
        source = entry.rstrip()[:-1].strip() + " | sox -t wav - "
    else:
        source = f"sox {shlex.quote(entry)} "
    return f"{source}-t wav - speed {factor} |"


def prefix(factor: float) -> str:
    return f"sp{factor}-"


def perturb_dir(src: Path, dst: Path, factors: List[float]) -> int:
    """Writes the perturbed data dir; returns its number of utterances."""
    names = ["wav.scp", "utt2spk"] + sorted(p.name for p in src.glob("text*"))
    stamp = make_stamp(
        [src / n for n in names if (src / n).is_file()], dict(factors=factors)
    )
    check = check_stamp(dst / ".done", stamp)
    log_check(check, dst, "already perturbed", "perturbing again")
    if check.status == "done":
        return len(read_kaldi_map(dst / "wav.scp"))
    if shutil.which("sox") is None:
        raise RuntimeError("speed perturbation needs sox: apt-get install -y sox")
    wav = read_kaldi_map(src / "wav.scp")
    others = {
        p.name: read_kaldi_map(p)
        for p in sorted(src.iterdir())
        if p.name.startswith("text") or p.name == "utt2spk"
    }
    out: Dict[str, Dict[str, str]] = {"wav.scp": {}, **{n: {} for n in others}}
    for factor in factors:
        tag = "" if factor == 1.0 else prefix(factor)
        for utt, entry in wav.items():
            out["wav.scp"][tag + utt] = (
                entry if factor == 1.0 else perturbed_entry(entry, factor)
            )
            for name, mapping in others.items():
                value = mapping[utt]
                out[name][tag + utt] = tag + value if name == "utt2spk" else value
    dst.mkdir(parents=True, exist_ok=True)
    for name, mapping in out.items():
        write_kaldi_map(dst / name, mapping)
    if "utt2spk" in out:
        spk2utt: Dict[str, List[str]] = {}
        for utt in sorted(out["utt2spk"]):
            spk2utt.setdefault(out["utt2spk"][utt], []).append(utt)
        write_kaldi_map(dst / "spk2utt", {s: " ".join(u) for s, u in spk2utt.items()})
    stamp.because = check.root
    write_stamp(dst / ".done", stamp)
    logging.info(f"{dst}: {len(out['wav.scp'])} utterances (factors {factors})")
    return len(out["wav.scp"])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--src", type=Path, required=True)
    parser.add_argument("--dst", type=Path, required=True)
    parser.add_argument("--factors", type=float, nargs="+", required=True)
    args = parser.parse_args(argv)
    setup_logging()
    perturb_dir(args.src, args.dst, args.factors)


if __name__ == "__main__":
    from espnet2_ext.utils.deps import run_cli

    run_cli(main, input_errors=True)
