#!/usr/bin/env bash
# mini_st/asr1: English ASR on the embedded mini_st corpus (the synthetic English speech
# of mini_st/st1 with its transcripts), the full pipeline (stages 1-13) for the models
# the comparison needs, ending with one table (WER and CER on dev and test).
#
#   ./run.sh                      # FBank-only / SSL-only / GSGN+Drop, BPE 300
#   ./run.sh --token_type char
#   ./run.sh --models gsgn_drop --max_epoch 3
set -euo pipefail

models="fbank_only ssl_only gsgn_drop"  # rows of espnet2_ext.stages.rows but units
stage=1
stop_stage=13
nj=2
inference_nj=2
ngpu=0
local_data_opts=    # e.g. "--max_pairs 40 --dev_sentences 8 --test_sentences 8"
max_epoch=          # override conf/model_mini.yaml
token_type=bpe      # bpe or char
nbpe=150
asr_args=           # extra options of asr_train
help_message="Usage: $0 [--models \"...\"] [--token_type bpe|char] [--stage N] [--stop_stage N]
$(utils/print_options.sh "${BASH_SOURCE[0]}")"

run_command=./run.sh  # with its arguments quoted: named in the RESULTS file
if [ $# -gt 0 ]; then run_command+=$(printf ' %q' "$@"); fi
. utils/parse_options.sh
. ./path.sh

. local/model_config.sh

tokens=${token_type}
[ "${token_type}" = bpe ] && tokens=bpe${nbpe}
exps=()
for model in ${models}; do
    config=exp/configs/${model}.yaml
    mini_config "${model}" "${config}" "${max_epoch}"
    ./asr.sh --stage "${stage}" --stop_stage "${stop_stage}" --ngpu "${ngpu}" \
        --nj "${nj}" --inference_nj "${inference_nj}" \
        --local_data_opts "--nj ${nj} ${local_data_opts}" \
        --lang en --train_set train --valid_set dev --test_sets "dev test" \
        --token_type "${token_type}" --nbpe "${nbpe}" \
        --asr_config "${config}" --asr_tag "${model}_${tokens}" \
        --inference_config conf/decode.yaml --asr_args "${asr_args}"
    exps+=("exp/asr_${model}_${tokens}")
done

if [ "${stop_stage}" -ge 13 ]; then
    python3 -m espnet2_ext.stages.report "${exps[@]}" --sets dev test \
        --metrics wer cer --out "exp/results_${tokens}" \
        --results_md "exp/RESULTS_${tokens}.md" --command "${run_command}"
fi
