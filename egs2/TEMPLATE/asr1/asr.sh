#!/usr/bin/env bash
# Speech recognition recipe driver: ESPnet's asr.sh stage numbers and option names for
# what we support, with every stage a few lines over tested Python modules (the same
# pieces as st1/st.sh, shared through ../common/stages.sh).
#
#   1  data preparation (local/data.sh)        10 statistics / shape files
#   2  speed perturbation (train set)          11 training (espnet2.bin.launch)
#   3  format: 16 kHz mono wav, utt2num_samples 12 decoding (averaged best checkpoints)
#   4  filter by duration, empty transcripts   13 scoring (WER, CER)
#   5  token list (sentencepiece / char)
#
# Data: local/data.sh writes data/<set>/{wav.scp,text,utt2spk} (ESPnet's asr.sh layout).
# A finished stage leaves a .done stamp of what it was made from (input files, options,
# config): a re-run skips it while they are unchanged, and runs it and the stages after
# it again, saying what changed, when they are not; training resumes from its last
# checkpoint (a model trained from other inputs is moved aside). Bad input stops with
# `path:line: what is wrong - what to do` (--verbose true: with the traceback). A
# failed parallel job prints the log that explains it.
# Run from a recipe directory (egs2/<corpus>/asr1) that has cmd.sh, path.sh, conf/ and
# local/data.sh. `./asr.sh --help` lists every option with its default.
set -euo pipefail

# General
stage=1                 # first stage to run
stop_stage=13           # last stage to run
ngpu=0                  # GPUs per node for training (0: CPU)
num_nodes=1             # nodes for training (>1: multi-node via cmd.sh's cuda_cmd)
nj=4                    # parallel jobs for formatting and statistics
inference_nj=4          # parallel decoding jobs
gpu_inference=false     # decode on a GPU
dumpdir=dump            # formatted data
expdir=exp              # experiments
python=python3          # Python interpreter of the jobs
verbose=false           # Python tracebacks with the errors
# Data
train_set=train         # training set (data/<set>)
valid_set=dev           # validation set
test_sets="dev test"    # sets decoded and scored
lang=noinfo             # language tag of the token list and experiment names
local_data_opts=        # options of local/data.sh
speed_perturb_factors=  # e.g. "0.9 1.0 1.1"; empty: none
min_wav_duration=0.1    # seconds; shorter train/valid utterances are dropped
max_wav_duration=30     # seconds; longer train/valid utterances are dropped
drop_truncated_audio=false  # drop (and count) truncated wavs in stage 3 instead of failing
# Tokens
token_listdir=data/token_list  # where the token lists and sentencepiece models go
token_type=bpe          # bpe or char
nbpe=1000               # sentencepiece vocabulary size
bpemode=unigram         # unigram or bpe
nlsyms_txt=none         # non-linguistic symbols kept as single tokens (e.g. [fra]), one a line
# Training
asr_tag=                # experiment name (default: config name, lang, tokens)
asr_exp=                # experiment dir (default: ${expdir}/asr_${asr_tag})
asr_config=             # training config (required)
asr_args=               # extra options of asr_train
pretrained_asr=         # checkpoint whose encoder initialises the model
# Decoding
inference_config=       # decoding config
inference_args=         # extra options of asr_inference
inference_asr_model=valid.acc.ave.pth  # checkpoint in ${asr_exp} to decode with
# Scoring
score_case=cased        # cased or lc (lowercase hypotheses and references)
score_remove_tags=false # remove non-speech tags like "(Applause)" before scoring

help_message="Usage: $0 --asr_config CONFIG [options]
Runs stages --stage..--stop_stage of the ASR pipeline (see the head of $0).
$(utils/print_options.sh "${BASH_SOURCE[0]}")"

# shellcheck disable=SC1091
. utils/parse_options.sh
[ "${verbose}" = true ] && export ESPNET2_EXT_VERBOSE=1
inference_model=${inference_asr_model}  # the name the shared stages (../common/stages.sh) read
# shellcheck disable=SC1091
. ./path.sh
# shellcheck disable=SC1091
. ./cmd.sh
# shellcheck disable=SC1091
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../common/stages.sh"

[ -n "${asr_config}" ] || { log "error: --asr_config is required"; exit 1; }
[ -f "${asr_config}" ] || { log "error: --asr_config ${asr_config} does not exist"; exit 1; }
[ -z "${pretrained_asr}" ] || [ -f "${pretrained_asr}" ] || {
    log "error: --pretrained_asr ${pretrained_asr} does not exist"; exit 1; }

[ "${nlsyms_txt}" = none ] || [ -f "${nlsyms_txt}" ] || [ "${stage}" -le 1 ] || {
    log "error: --nlsyms_txt ${nlsyms_txt} does not exist"; exit 1; }
nlsyms_arg=
[ "${nlsyms_txt}" = none ] || nlsyms_arg="--nlsyms_txt ${nlsyms_txt}"

tokens=$(token_tag "${token_type}" "${nbpe}" "${bpemode}")
asr_tag=${asr_tag:-$(basename "${asr_config}" .yaml)_${lang}_${tokens}}
asr_exp=${asr_exp:-${expdir}/asr_${asr_tag}}
data_feats=${dumpdir}/raw
tokendir=${token_listdir}/${tokens}_${lang}
stats_dir=${expdir}/asr_stats_${lang}_${tokens}
train_sp=${train_set}
if [ -n "${speed_perturb_factors}" ]; then train_sp=${train_set}_sp; fi

stage1() { local/data.sh ${local_data_opts}; }
stage2() { speed_perturb_train; }
stage3() { format_sets; }
stage4() { filter_sets text; }

stage5() {
    ${python} -m espnet2_ext.stages.tokens --text "${data_feats}/${train_set}/text" \
        --token_type "${token_type}" --nbpe "${nbpe}" --bpemode "${bpemode}" \
        --out_dir "${tokendir}" ${nlsyms_arg}
}

# Options of asr_train shared by statistics collection and training.
train_opts() {
    local split
    for split in train valid; do
        local dir=${data_feats}/${train_set}
        [ "${split}" = valid ] && dir=${data_feats}/${valid_set}
        echo "--${split}_data_path_and_name_and_type ${dir}/wav.scp,speech,sound" \
            "--${split}_data_path_and_name_and_type ${dir}/text,text,text"
    done
    echo "--token_type ${token_type} --token_list ${tokendir}/tokens.txt"
    [ "${token_type}" = bpe ] && echo "--bpemodel ${tokendir}/bpe.model"
    echo "--non_linguistic_symbols ${nlsyms_txt} --cleaner none --g2p none"
    echo "--config ${asr_config} --frontend_conf fs=16k"
}

stage10() {
    # With extract_feats_in_collect_stats: false (our presets) this only writes shape
    # files; the SSL upstream is not run over the corpus.
    # shellcheck disable=SC2046
    collect_stats espnet2_ext.bin.asr_train "${stats_dir}" wav.scp --use_preprocessor true \
        $(train_opts) --normalize none ${asr_args}
}

# The shape files depend on the data and the tokens only (extract_feats_in_collect_stats
# is false), so the stats dir is shared by every config, as in ESPnet.
stage10_inputs() {
    training_data_inputs
    stamp_inputs "${tokendir}/.done"
}

stage11_inputs() {
    stage10_inputs
    stamp_inputs "${stats_dir}/.done" "${asr_config}" ${pretrained_asr}
    stamp_option args "$(train_opts) ${asr_args}"
}

# Training from changed inputs starts afresh: the old experiment is kept aside.
stage11_reset() { set_aside "${asr_exp}"; }

stage11() {
    local init_opts=""
    [ -n "${pretrained_asr}" ] && init_opts="--init_param ${pretrained_asr}:encoder:encoder"
    # shellcheck disable=SC2046,SC2086
    launch_training espnet2_ext.bin.asr_train "${asr_exp}" "${asr_tag}" $(train_opts) \
        --train_shape_file "${stats_dir}/train/speech_shape" \
        --valid_shape_file "${stats_dir}/valid/speech_shape" \
        --fold_length 80000 --fold_length 150 ${init_opts} ${asr_args}
}

stage12() { decode_sets espnet2_ext.bin.asr_inference asr "${asr_exp}"; }

stage13() {
    local dset _dir _opts=(--case "${score_case}")
    [ "${score_remove_tags}" = true ] && _opts+=(--remove_tags)
    for dset in ${test_sets}; do
        _dir=$(decode_dir "${asr_exp}" "${dset}")
        ${python} -m espnet2_ext.scoring.asr --hyp "${_dir}/text" \
            --ref "${data_feats}/${dset}/text" --outdir "${_dir}/score" "${_opts[@]}"
        log "$(head -n 2 "${_dir}/score/result.txt" | paste -sd ' ') (${dset}, ${_dir}/score)"
    done
}

run_stage 1 "data preparation" stage1
if [ -n "${speed_perturb_factors}" ]; then
    run_stage 2 "speed perturbation ${speed_perturb_factors}" stage2
fi
run_stage 3 "format wav (16 kHz mono)" stage3
run_stage 4 "filter" stage4
run_stage 5 "token list" stage5
run_stage 10 "collect stats" stage10 "${stats_dir}/.done" stage10_inputs
run_stage 11 "training: ${asr_exp}" stage11 "${asr_exp}/.train.done" stage11_inputs
run_stage 12 "decoding" stage12
# Scoring is cheap and reads the current decode: always redone when selected.
run_stage 13 "scoring" stage13
log "Successfully finished. [elapsed=${SECONDS}s]"
