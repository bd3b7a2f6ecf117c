#!/usr/bin/env bash
# Stage 1 of the mini_st recipes (st1 links this file, asr1 calls it): builds the
# embedded corpus once (synthetic English speech; German/French/Spanish targets from
# the grammar, or human translations from gettext catalogs with --corpus gettext; see
# espnet2_ext/recipes/mini_st/corpus.py) and the random-weight SSL upstream the configs point
# to (and, with --ssl_upstream trained, the HuBERT pre-trained on this machine by
# local/upstream.sh), then exposes the splits as data/{train,dev,test}.
set -euo pipefail

corpus=grammar    # grammar (generated, learnable) or gettext (human, far harder)
corpus_dir=       # empty: data/corpus_<corpus>
sentences=3000    # distinct sentences of the grammar corpus
max_pairs=        # empty: the builder's default size
dev_sentences=100
test_sentences=100
nj=2
seed=0
upstream=exp/upstream/hubert_mini.pt  # the random-weight upstream (always written)
ssl_upstream=random  # random, or trained: also pre-train one here (upstream.sh)
upstream_opts=       # options of local/upstream.sh, e.g. "--max_sentences 40"
help_message="Usage: $0 [--corpus grammar|gettext] [--ssl_upstream random|trained] [--max_pairs N] [--dev_sentences N] [--test_sentences N] [--nj N] [--seed N]
$(utils/print_options.sh "${BASH_SOURCE[0]}")"
. utils/parse_options.sh
corpus_dir=${corpus_dir:-data/corpus_${corpus}}

python3 -m espnet2_ext.recipes.mini_st.corpus --outdir "${corpus_dir}" --corpus "${corpus}" \
    --sentences "${sentences}" --tgt_langs de fr es \
    --seed "${seed}" --nj "${nj}" --download_dir "${ESPNET2_EXT_DOWNLOADS:-downloads}" \
    --dev_sentences "${dev_sentences}" --test_sentences "${test_sentences}" \
    ${max_pairs:+--max_pairs ${max_pairs}}
# data/{train,dev,test} for the default corpus, data/<corpus>_{train,dev,test} otherwise
# (run.sh uses the same names).
prefix=
[ "${corpus}" = grammar ] || prefix=${corpus}_
for split in train dev test; do
    mkdir -p "data/${prefix}${split}"
    cp "${corpus_dir}/${split}"/{wav.scp,utt2spk,spk2utt} "data/${prefix}${split}/"
    cp "${corpus_dir}/${split}"/text.* "data/${prefix}${split}/"
done
# A real multi-layer s3prl upstream without downloads (random weights; see README).
python3 -m espnet2_ext.upstream.random_weights --preset mini --seed "${seed}" "${upstream}"
if [ "${ssl_upstream}" = trained ]; then
    # Sentences of the ST corpus are never spoken in the SSL speech.
    # shellcheck disable=SC2086
    "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/upstream.sh" --nj "${nj}" \
        --seed "${seed}" --exclude_text "$(echo "${corpus_dir}"/{train,dev,test}/text.en)" \
        ${upstream_opts}
elif [ "${ssl_upstream}" != random ]; then
    echo "$0: --ssl_upstream is random or trained, not '${ssl_upstream}'" >&2
    exit 1
fi
