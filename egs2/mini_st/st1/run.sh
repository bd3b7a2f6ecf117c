#!/usr/bin/env bash
# mini_st: an embedded English->German/French/Spanish ST corpus built on this machine
# (synthetic English speech; grammar-generated targets, or human translations with
# --corpus gettext), then the full pipeline (stages 1-13) for the models the comparison
# needs, ending with one table.
#
#   ./run.sh                      # En-De, FBank-only / SSL-only / GSGN+Drop
#   ./run.sh --tgt_lang fr        # or es
#   ./run.sh --corpus gettext     # human UI-string translations (much harder)
#   ./run.sh --models gsgn_drop --max_epoch 3
set -euo pipefail

tgt_lang=de         # de, fr or es
corpus=grammar      # grammar (generated, learnable) or gettext (human translations)
models="fbank_only ssl_only gsgn_drop"  # any of fbank_only ssl_only gsgn gsgn_drop concat
stage=1             # first stage of st.sh to run
stop_stage=13       # last stage of st.sh to run
nj=2                # parallel jobs (corpus synthesis, formatting, statistics)
inference_nj=2      # parallel decoding jobs
ngpu=0              # GPUs for training (0: CPU)
local_data_opts=    # e.g. "--max_pairs 40 --dev_sentences 8 --test_sentences 8"
max_epoch=          # override conf/model_mini.yaml
token_type=bpe      # bpe or char, for both languages
nbpe=150            # sentencepiece vocabulary size of each language
st_args=            # extra options of st_train
help_message="Usage: $0 [--tgt_lang de|fr|es] [--models \"...\"] [--stage N] [--stop_stage N]
$(utils/print_options.sh "${BASH_SOURCE[0]}")"

. utils/parse_options.sh
. ./path.sh

. local/model_config.sh

# The default corpus uses data/{train,dev,test}, data/token_list and exp/; another corpus
# gets its own set names, token lists and experiment folder so that nothing is shared.
sets=(train dev test)
token_listdir=data/token_list
expdir=exp
if [ "${corpus}" != grammar ]; then
    sets=("${corpus}_train" "${corpus}_dev" "${corpus}_test")
    token_listdir=data/token_list_${corpus}
    expdir=exp/${corpus}
fi

tokens=${token_type}
[ "${token_type}" = bpe ] && tokens=bpe${nbpe}
exps=()
for model in ${models}; do
    config=exp/configs/${model}.yaml
    mini_config "${model}" "${config}" "${max_epoch}"
    ./st.sh --stage "${stage}" --stop_stage "${stop_stage}" --ngpu "${ngpu}" \
        --nj "${nj}" --inference_nj "${inference_nj}" \
        --local_data_opts "--nj ${nj} --corpus ${corpus} ${local_data_opts}" \
        --src_lang en --tgt_lang "${tgt_lang}" --train_set "${sets[0]}" \
        --valid_set "${sets[1]}" --test_sets "${sets[1]} ${sets[2]}" \
        --expdir "${expdir}" --token_listdir "${token_listdir}" \
        --src_token_type "${token_type}" --src_nbpe "${nbpe}" \
        --tgt_token_type "${token_type}" --tgt_nbpe "${nbpe}" \
        --st_config "${config}" --st_tag "${model}_${tgt_lang}_${tokens}" \
        --inference_config conf/decode.yaml --st_args "${st_args}"
    exps+=("${expdir}/st_${model}_${tgt_lang}_${tokens}")
done

if [ "${stop_stage}" -ge 13 ]; then
    python3 -m espnet2_ext.recipe.report "${exps[@]}" --sets "${sets[1]}" "${sets[2]}" \
        --out "${expdir}/results_${tgt_lang}_${tokens}"
    # Gate diagnostics over training (the paper's Fig. 3 and 4) of every model.
    python3 -m espnet2_ext.bin.plot_gate "${exps[@]}" --smooth 5 \
        --out "${expdir}/gate_${tgt_lang}_${tokens}.png"
fi
