#!/usr/bin/env bash
# Speech translation recipe driver: ESPnet's st.sh stage numbers and option names for
# what we support, with every stage a few lines over tested Python modules.
#
#   1  data preparation (local/data.sh)        10 statistics / shape files
#   2  speed perturbation (train set)          11 training (espnet2.bin.launch)
#   3  format: 16 kHz mono wav, utt2num_samples 12 decoding (averaged best checkpoints)
#   4  filter by duration, empty transcripts   13 scoring (sacreBLEU: BLEU, chrF, TER)
#   5  token lists (sentencepiece / char)
#
# Data: local/data.sh writes data/<set>/{wav.scp,text.<src_lang>,text.<tgt_lang>,utt2spk}.
# A finished stage leaves a .done stamp of what it was made from (input files, options,
# config): a re-run skips it while they are unchanged, and runs it and the stages after
# it again, saying what changed, when they are not; training resumes from its last
# checkpoint (a model trained from other inputs is moved aside). Bad input stops with
# `path:line: what is wrong - what to do` (--verbose true: with the traceback). A
# failed parallel job prints the log that explains it.
# Run from a recipe directory (egs2/<corpus>/st1) that has cmd.sh, path.sh, conf/ and
# local/data.sh. `./st.sh --help` lists every option with its default. The shell pieces
# shared with asr1/asr.sh are in ../common/stages.sh.
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
src_lang=en             # source language (data/<set>/text.<src_lang>)
tgt_lang=de             # target language (data/<set>/text.<tgt_lang>)
local_data_opts=        # options of local/data.sh
speed_perturb_factors=  # e.g. "0.9 1.0 1.1"; empty: none
min_wav_duration=0.1    # seconds; shorter train/valid utterances are dropped
max_wav_duration=30     # seconds; longer train/valid utterances are dropped
drop_truncated_audio=false  # drop (and count) truncated wavs in stage 3 instead of failing
# Tokens
token_listdir=data/token_list  # where the token lists and sentencepiece models go
src_token_type=bpe      # bpe or char, source text
src_nbpe=1000           # sentencepiece vocabulary size, source text
tgt_token_type=bpe      # bpe or char, target text
tgt_nbpe=1000           # sentencepiece vocabulary size, target text
src_bpemode=unigram     # unigram or bpe, source text
tgt_bpemode=unigram     # unigram or bpe, target text
# Training
st_tag=                 # experiment name (default: config name, languages, tokens)
st_exp=                 # experiment dir (default: ${expdir}/st_${st_tag})
st_config=              # training config (required)
st_args=                # extra options of st_train
pretrained_asr=         # checkpoint whose parts initialise the model (see the next option)
pretrained_asr_keys=encoder:encoder  # <from>:<to> parts it initialises (ESPnet --init_param)
# Decoding
inference_config=       # decoding config
inference_args=         # extra options of st_inference
inference_st_model=valid.acc.ave.pth  # checkpoint in ${st_exp} to decode with
# Scoring
score_case=cased        # cased or lc (lowercase hypotheses and references)
score_tokenize=13a      # sacreBLEU tokenizer for BLEU (13a, intl, zh, ja-mecab, none)
score_remove_tags=false # remove non-speech tags like "(Applause)" before scoring

help_message="Usage: $0 --st_config CONFIG [options]
Runs stages --stage..--stop_stage of the ST pipeline (see the head of $0).
$(utils/print_options.sh "${BASH_SOURCE[0]}")"

# shellcheck disable=SC1091
. utils/parse_options.sh
[ "${verbose}" = true ] && export ESPNET2_EXT_VERBOSE=1
inference_model=${inference_st_model}  # the name the shared stages (../common/stages.sh) read
# shellcheck disable=SC1091
. ./path.sh
# shellcheck disable=SC1091
. ./cmd.sh
# shellcheck disable=SC1091
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../common/stages.sh"

[ -n "${st_config}" ] || { log "error: --st_config is required"; exit 1; }
[ -f "${st_config}" ] || { log "error: --st_config ${st_config} does not exist"; exit 1; }
[ -z "${pretrained_asr}" ] || [ -f "${pretrained_asr}" ] || {
    log "error: --pretrained_asr ${pretrained_asr} does not exist"; exit 1; }

src_tokens=$(token_tag "${src_token_type}" "${src_nbpe}" "${src_bpemode}")
tgt_tokens=$(token_tag "${tgt_token_type}" "${tgt_nbpe}" "${tgt_bpemode}")
tokens=${src_tokens}
[ "${tgt_tokens}" = "${src_tokens}" ] || tokens=${src_tokens}_${tgt_tokens}
st_tag=${st_tag:-$(basename "${st_config}" .yaml)_${src_lang}_${tgt_lang}_${tokens}}
st_exp=${st_exp:-${expdir}/st_${st_tag}}
data_feats=${dumpdir}/raw
src_tokendir=${token_listdir}/src_${src_tokens}_${src_lang}
tgt_tokendir=${token_listdir}/tgt_${tgt_tokens}_${tgt_lang}
stats_dir=${expdir}/st_stats_${src_lang}_${tgt_lang}_${tokens}
train_sp=${train_set}
if [ -n "${speed_perturb_factors}" ]; then train_sp=${train_set}_sp; fi

stage1() { local/data.sh ${local_data_opts}; }
stage2() { speed_perturb_train; }
stage3() { format_sets; }
stage4() { filter_sets "text.${src_lang}" "text.${tgt_lang}"; }

stage5() {
    ${python} -m espnet2_ext.stages.tokens --text "${data_feats}/${train_set}/text.${src_lang}" \
        --token_type "${src_token_type}" --nbpe "${src_nbpe}" --bpemode "${src_bpemode}" \
        --out_dir "${src_tokendir}"
    ${python} -m espnet2_ext.stages.tokens --text "${data_feats}/${train_set}/text.${tgt_lang}" \
        --token_type "${tgt_token_type}" --nbpe "${tgt_nbpe}" --bpemode "${tgt_bpemode}" \
        --out_dir "${tgt_tokendir}"
}

# Options of st_train shared by statistics collection and training.
train_opts() {
    local split dir
    for split in train valid; do
        dir=${data_feats}/${train_set}
        [ "${split}" = valid ] && dir=${data_feats}/${valid_set}
        echo "--${split}_data_path_and_name_and_type ${dir}/wav.scp,speech,sound" \
            "--${split}_data_path_and_name_and_type ${dir}/text.${tgt_lang},text,text" \
            "--${split}_data_path_and_name_and_type ${dir}/text.${src_lang},src_text,text"
    done
    echo "--token_type ${tgt_token_type} --token_list ${tgt_tokendir}/tokens.txt"
    echo "--src_token_type ${src_token_type} --src_token_list ${src_tokendir}/tokens.txt"
    [ "${tgt_token_type}" = bpe ] && echo "--bpemodel ${tgt_tokendir}/bpe.model"
    [ "${src_token_type}" = bpe ] && echo "--src_bpemodel ${src_tokendir}/bpe.model"
    echo "--non_linguistic_symbols none --cleaner none --g2p none"
    echo "--config ${st_config} --frontend_conf fs=16k"
}

stage10() {
    # With extract_feats_in_collect_stats: false (our presets) this only writes shape
    # files; the SSL upstream is not run over the corpus.
    # shellcheck disable=SC2046,SC2086
    collect_stats espnet2_ext.bin.st_train "${stats_dir}" wav.scp --use_preprocessor true \
        $(train_opts) --normalize none ${st_args}
}

# The shape files depend on the data and the tokens only (extract_feats_in_collect_stats
# is false), so the stats dir is shared by every config, as in ESPnet.
stage10_inputs() {
    training_data_inputs
    stamp_inputs "${src_tokendir}/.done" "${tgt_tokendir}/.done"
}

stage11_inputs() {
    stage10_inputs
    stamp_inputs "${stats_dir}/.done" "${st_config}" ${pretrained_asr}
    stamp_option args "$(train_opts) ${st_args}"
    [ -z "${pretrained_asr}" ] || stamp_option init "$(init_opts)"
}

# ESPnet's --init_param from --pretrained_asr and --pretrained_asr_keys.
init_opts() {
    local key opts="--init_param"
    for key in ${pretrained_asr_keys}; do opts+=" ${pretrained_asr}:${key}"; done
    echo "${opts}"
}

# Training from changed inputs starts afresh: the old experiment is kept aside.
stage11_reset() { set_aside "${st_exp}"; }

stage11() {
    local init=""
    [ -n "${pretrained_asr}" ] && init=$(init_opts)
    # shellcheck disable=SC2046,SC2086
    launch_training espnet2_ext.bin.st_train "${st_exp}" "${st_tag}" $(train_opts) \
        --train_shape_file "${stats_dir}/train/speech_shape" \
        --valid_shape_file "${stats_dir}/valid/speech_shape" \
        --fold_length 80000 --fold_length 150 --fold_length 150 ${init} ${st_args}
}

stage12() { decode_sets espnet2_ext.bin.st_inference st "${st_exp}"; }

stage13() {
    local dset _dir _opts=(--case "${score_case}" --tokenize "${score_tokenize}")
    [ "${score_remove_tags}" = true ] && _opts+=(--remove_tags)
    for dset in ${test_sets}; do
        _dir=$(decode_dir "${st_exp}" "${dset}")
        ${python} -m espnet2_ext.scoring.st --hyp "${_dir}/text" \
            --ref "${data_feats}/${dset}/text.${tgt_lang}" --outdir "${_dir}/score" \
            "${_opts[@]}"
        log "$(head -n 1 "${_dir}/score/result.txt") (${dset}, ${_dir}/score)"
    done
}

run_stage 1 "data preparation" stage1
if [ -n "${speed_perturb_factors}" ]; then
    run_stage 2 "speed perturbation ${speed_perturb_factors}" stage2
fi
run_stage 3 "format wav (16 kHz mono)" stage3
run_stage 4 "filter" stage4
run_stage 5 "token lists" stage5
run_stage 10 "collect stats" stage10 "${stats_dir}/.done" stage10_inputs
run_stage 11 "training: ${st_exp}" stage11 "${st_exp}/.train.done" stage11_inputs
run_stage 12 "decoding" stage12
# Scoring is cheap and reads the current decode: always redone when selected.
run_stage 13 "scoring" stage13
log "Successfully finished. [elapsed=${SECONDS}s]"
