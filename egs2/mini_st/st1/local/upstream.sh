#!/usr/bin/env bash
# Trains the SSL upstream of the mini_st recipes on this machine (run from
# egs2/mini_st/<task>, after local/data.sh; see espnet2_ext/upstream/pretrain_hubert.py):
#   1. data/ssl_speech: English gettext sentences spoken by the training voices (train)
#      and other sentences by the held-out voices (test), none of them an ST sentence
#      when --exclude_text names the ST corpus' text files;
#   2. HuBERT masked-prediction pre-training on MFCC k-means targets, then CTC
#      fine-tuning on espeak-ng phonemes; the checkpoint is cached outside the clone
#      (${ESPNET2_EXT_CACHE:-~/.cache/espnet2_ext}/upstream/<hash>/) and copied to --out;
#   3. the layer probe: linear CTC phone probes per layer and on FBank -> ${out%.pt}.probe.json
#      (also cached outside the clone).
# Every step skips work already done, so a re-run takes seconds; the caches are keyed on
# the arguments and the speech's contents, so another clone only synthesises the speech.
set -euo pipefail

ssl_dir=data/ssl_speech
out=exp/upstream/hubert_mini_trained.pt
exclude_text=       # space-separated Kaldi text files whose sentences are never spoken
max_sentences=560   # empty: every catalog sentence (1186)
heldout_sentences=80
train_reps=1
preset=mini
num_clusters=100
pretrain_epochs=2
finetune_epochs=8
probe_epochs=30
nj=2
threads=2
seed=0
help_message="Usage: $0 [--out exp/upstream/hubert_mini_trained.pt] [--exclude_text 'a b']
$(utils/print_options.sh "${BASH_SOURCE[0]}")"
. utils/parse_options.sh

python3 -m espnet2_ext.recipes.mini_st.ssl_speech --outdir "${ssl_dir}" --seed "${seed}" \
    --nj "${nj}" --download_dir "${ESPNET2_EXT_DOWNLOADS:-downloads}" \
    --heldout_sentences "${heldout_sentences}" --train_reps "${train_reps}" \
    ${max_sentences:+--max_sentences ${max_sentences}} \
    ${exclude_text:+--exclude_text ${exclude_text}}
python3 -m espnet2_ext.upstream.pretrain_hubert --data_dir "${ssl_dir}/train" \
    --out "${out}" --preset "${preset}" --num_clusters "${num_clusters}" \
    --pretrain_epochs "${pretrain_epochs}" --finetune_epochs "${finetune_epochs}" \
    --seed "${seed}" --threads "${threads}"
python3 -m espnet2_ext.upstream.probe --upstream "${out}" \
    --train_dir "${ssl_dir}/train" --test_dir "${ssl_dir}/test" \
    --out_json "${out%.pt}.probe.json" --epochs "${probe_epochs}" --seed "${seed}" \
    --threads "${threads}"
