#!/usr/bin/env bash
# Stage 1 of the mini_st recipes (st1 links this file, asr1 calls it): builds the
# embedded corpus (synthetic English speech, human German/French/Spanish translations
# from gettext catalogs; see espnet2_ext/corpora/mini_st.py) once, and the random-weight
# SSL upstream the configs point to, then exposes the splits as data/{train,dev,test}.
set -euo pipefail

corpus_dir=data/corpus
max_pairs=        # empty: the builder's default size
dev_sentences=100
test_sentences=100
nj=2
seed=0
upstream=exp/upstream/hubert_mini.pt
help_message="Usage: $0 [--max_pairs N] [--dev_sentences N] [--test_sentences N] [--nj N] [--seed N]
$(utils/print_options.sh "${BASH_SOURCE[0]}")"
. utils/parse_options.sh

python3 -m espnet2_ext.corpora.mini_st --outdir "${corpus_dir}" --tgt_langs de fr es \
    --seed "${seed}" --nj "${nj}" --download_dir "${ESPNET2_EXT_DOWNLOADS:-downloads}" \
    --dev_sentences "${dev_sentences}" --test_sentences "${test_sentences}" \
    ${max_pairs:+--max_pairs ${max_pairs}}
for split in train dev test; do
    mkdir -p "data/${split}"
    cp "${corpus_dir}/${split}"/{wav.scp,utt2spk,spk2utt} "data/${split}/"
    cp "${corpus_dir}/${split}"/text.* "data/${split}/"
done
# A real multi-layer s3prl upstream without downloads (random weights; see README).
python3 -m espnet2_ext.upstream.random_weights --preset mini --seed "${seed}" "${upstream}"
