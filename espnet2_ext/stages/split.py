"""Splits a Kaldi scp into key files for parallel jobs, and merges their outputs.

``--scp F --nj N --out_dir D`` writes ``D/keys.{1..n}.scp`` (n = min(N, lines), in
order, sizes differing by at most one line). ``--merge D --nj n --name REL --out F``
concatenates ``D/output.{1..n}/REL`` into ``F`` sorted by id, and fails naming the
job whose output is missing.

Usage::

    python -m espnet2_ext.stages.split --scp dump/raw/test/wav.scp --nj 4 --out_dir L
    python -m espnet2_ext.stages.split --merge L --nj 4 --name 1best_recog/text --out T
"""

import argparse
from pathlib import Path
from typing import List


def split_lines(lines: List[str], nj: int) -> List[List[str]]:
    """Contiguous chunks of ``lines``: min(nj, len) parts, sizes differ by <= 1."""
    if nj < 1:
        raise ValueError(f"nj must be >= 1; got {nj}")
    parts = max(1, min(nj, len(lines)))
    size, extra = divmod(len(lines), parts)
    chunks, start = [], 0
    for i in range(parts):
        end = start + size + (1 if i < extra else 0)
        chunks.append(lines[start:end])
        start = end
    return chunks


def split_scp(scp: Path, nj: int, out_dir: Path) -> int:
    """Writes ``out_dir/keys.{i}.scp``; returns the number of parts."""
    lines = [ln for ln in scp.read_text(encoding="utf-8").splitlines() if ln.strip()]
    if not lines:
        raise ValueError(f"{scp} is empty: nothing to split")
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("keys.*.scp"):
        old.unlink()
    chunks = split_lines(lines, nj)
    for i, chunk in enumerate(chunks, start=1):
        (out_dir / f"keys.{i}.scp").write_text(
            "\n".join(chunk) + "\n", encoding="utf-8"
        )
    return len(chunks)


def merge_outputs(log_dir: Path, nj: int, name: str, out: Path) -> int:
    """Concatenates ``log_dir/output.{i}/name`` sorted by id; returns the line count."""
    lines = []
    for i in range(1, nj + 1):
        part = log_dir / f"output.{i}" / name
        if not part.exists():
            raise FileNotFoundError(
                f"job {i} wrote no {part}; see {log_dir}/*.{i}.log for what went wrong"
            )
        lines += [ln for ln in part.read_text(encoding="utf-8").splitlines() if ln]
    lines.sort(key=lambda ln: ln.split(" ", 1)[0].encode("utf-8"))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text("".join(ln + "\n" for ln in lines), encoding="utf-8")
    tmp.replace(out)
    return len(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scp", type=Path)
    parser.add_argument("--out_dir", type=Path)
    parser.add_argument("--merge", type=Path, help="log dir with output.N/ folders")
    parser.add_argument("--name", default="1best_recog/text")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--nj", type=int, required=True)
    args = parser.parse_args(argv)
    if args.merge is not None:
        if args.out is None:
            parser.error("--merge needs --out")
        merge_outputs(args.merge, args.nj, args.name, args.out)
    elif args.scp is not None and args.out_dir is not None:
        split_scp(args.scp, args.nj, args.out_dir)
    else:
        parser.error("give --scp and --out_dir, or --merge, --name and --out")


if __name__ == "__main__":
    from espnet2_ext.utils.deps import run_cli

    run_cli(main, input_errors=True)
