#!/usr/bin/env bash
# Machine translation (text to text) recipe driver: ESPnet's mt.sh stage numbers and
# option names for what we support, with every stage a few lines over tested Python
# modules (the shell pieces shared with st1/st.sh and asr1/asr.sh are in
# ../common/stages.sh). ESPnet's own `mt` task trains the model.
#
#   1  data preparation (local/data.sh)         9  statistics / shape files
#   2  format: check and sort the text files   10  training (espnet2.bin.launch)
#   3  filter: drop empty source/target lines  11  decoding (averaged best checkpoints)
#   4  token lists (sentencepiece / char)      12  scoring (sacreBLEU: BLEU, chrF, TER)
#
# Data: local/data.sh writes data/<set>/{text.<src_lang>,text.<tgt_lang>} (Kaldi
# `<utt> <text>` files; no audio). The source side can use a given token list and
# sentencepiece model (--src_token_list, --src_bpemodel: e.g. the ASR's, for an
# ASR -> MT cascade) instead of one made in stage 4.
# A finished stage leaves a .done stamp of what it was made from (input files, options,
# config): a re-run skips it while they are unchanged, and runs it and the stages after
# it again, saying what changed, when they are not; training resumes from its last
# checkpoint (a model trained from other inputs is moved aside). Bad input stops with
# `path:line: what is wrong - what to do` (--verbose true: with the traceback). A
# failed parallel job prints the log that explains it.
# Run from a recipe directory (egs2/<corpus>/mt1) that has cmd.sh, path.sh, conf/ and
# local/data.sh. `./mt.sh --help` lists every option with its default.
set -euo pipefail

# General
stage=1                 # first stage to run
stop_stage=12           # last stage to run
ngpu=0                  # GPUs per node for training (0: CPU)
num_nodes=1             # nodes for training (>1: multi-node via cmd.sh's cuda_cmd)
nj=4                    # parallel jobs for statistics
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
# Tokens
token_listdir=data/token_list  # where the token lists and sentencepiece models go
src_token_type=bpe      # bpe or char, source text
src_nbpe=1000           # sentencepiece vocabulary size, source text
src_bpemode=unigram     # unigram or bpe, source text
tgt_token_type=bpe      # bpe or char, target text
tgt_nbpe=1000           # sentencepiece vocabulary size, target text
tgt_bpemode=unigram     # unigram or bpe, target text
src_token_list=         # a given source token list (e.g. the ASR's); empty: made in stage 4
src_bpemodel=           # the sentencepiece model of --src_token_list (with --src_token_type bpe)
# Training
mt_tag=                 # experiment name (default: config name, languages, tokens)
mt_exp=                 # experiment dir (default: ${expdir}/mt_${mt_tag})
mt_stats_dir=           # statistics dir (default: ${expdir}/mt_stats_<languages>_<tokens>)
mt_config=              # training config (required)
mt_args=                # extra options of mt_train
mt_text_fold_length=150 # fold_length of the source and target text (batch_type folded)
# Decoding
inference_config=       # decoding config
inference_args=         # extra options of mt_inference
inference_mt_model=valid.acc.ave.pth  # checkpoint in ${mt_exp} to decode with
# Scoring
score_case=cased        # cased or lc (lowercase hypotheses and references)
score_tokenize=13a      # sacreBLEU tokenizer for BLEU (13a, intl, zh, ja-mecab, none)
score_remove_tags=false # remove non-speech tags like "(Applause)" before scoring

help_message="Usage: $0 --mt_config CONFIG [options]
Runs stages --stage..--stop_stage of the MT pipeline (see the head of $0).
$(utils/print_options.sh "${BASH_SOURCE[0]}")"

# shellcheck disable=SC1091
. utils/parse_options.sh
[ "${verbose}" = true ] && export ESPNET2_EXT_VERBOSE=1
inference_model=${inference_mt_model}  # the name the shared stages (../common/stages.sh) read
# shellcheck disable=SC1091
. ./path.sh
# shellcheck disable=SC1091
. ./cmd.sh
# shellcheck disable=SC1091
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../common/stages.sh"

[ -n "${mt_config}" ] || { log "error: --mt_config is required"; exit 1; }
[ -f "${mt_config}" ] || { log "error: --mt_config ${mt_config} does not exist"; exit 1; }
[ -z "${inference_config}" ] || [ -f "${inference_config}" ] || {
    log "error: --inference_config ${inference_config} does not exist"; exit 1; }
if [ -n "${src_token_list}" ]; then
    [ -f "${src_token_list}" ] || {
        log "error: --src_token_list ${src_token_list} does not exist"; exit 1; }
    if [ "${src_token_type}" = bpe ]; then
        [ -n "${src_bpemodel}" ] || {
            log "error: --src_token_list with --src_token_type bpe needs --src_bpemodel" \
                "(the sentencepiece model the list was made with)"; exit 1; }
        [ -f "${src_bpemodel}" ] || {
            log "error: --src_bpemodel ${src_bpemodel} does not exist"; exit 1; }
    fi
fi
[ -z "${src_bpemodel}" ] || [ -n "${src_token_list}" ] || {
    log "error: --src_bpemodel goes with --src_token_list (a given source token list)"
    exit 1; }
[ -z "${src_bpemodel}" ] || [ "${src_token_type}" = bpe ] || {
    log "error: --src_bpemodel is for --src_token_type bpe, not ${src_token_type}"; exit 1; }

data_feats=${dumpdir}/raw
src_text=text.${src_lang}
tgt_text=text.${tgt_lang}
tgt_tokens=$(token_tag "${tgt_token_type}" "${tgt_nbpe}" "${tgt_bpemode}")
tgt_tokendir=${token_listdir}/tgt_${tgt_tokens}_${tgt_lang}
tgt_token_list=${tgt_tokendir}/tokens.txt
tgt_bpemodel=${tgt_tokendir}/bpe.model
if [ -n "${src_token_list}" ]; then
    src_tokens=given_${src_token_type}
    src_tokendir=
else
    src_tokens=$(token_tag "${src_token_type}" "${src_nbpe}" "${src_bpemode}")
    src_tokendir=${token_listdir}/src_${src_tokens}_${src_lang}
    src_token_list=${src_tokendir}/tokens.txt
    [ "${src_token_type}" != bpe ] || src_bpemodel=${src_tokendir}/bpe.model
fi
tokens=${src_tokens}
[ "${tgt_tokens}" = "${src_tokens}" ] || tokens=${src_tokens}_${tgt_tokens}
mt_tag=${mt_tag:-$(basename "${mt_config}" .yaml)_${src_lang}_${tgt_lang}_${tokens}}
mt_exp=${mt_exp:-${expdir}/mt_${mt_tag}}
mt_stats_dir=${mt_stats_dir:-${expdir}/mt_stats_${src_lang}_${tgt_lang}_${tokens}}

stage1() { local/data.sh ${local_data_opts}; }

# text_sets ACTION SRC DST: espnet2_ext.stages.text_data ACTION on every set.
text_sets() {
    local dset
    for dset in $(all_sets); do
        ${python} -m espnet2_ext.stages.text_data "$1" "$2/${dset}" "$3/${dset}" \
            --text "${src_text}" --text "${tgt_text}"
    done
}
stage2() { text_sets format data "${data_feats}/org"; }
stage3() { text_sets filter "${data_feats}/org" "${data_feats}"; }

stage4() {
    if [ -n "${src_tokendir}" ]; then
        ${python} -m espnet2_ext.stages.tokens --text "${data_feats}/${train_set}/${src_text}" \
            --token_type "${src_token_type}" --nbpe "${src_nbpe}" --bpemode "${src_bpemode}" \
            --out_dir "${src_tokendir}"
    else
        log "source tokens: the given ${src_token_list} ${src_bpemodel}"
        # shellcheck disable=SC2046
        ${python} -m espnet2_ext.stages.text_data check_tokens \
            --token_list "${src_token_list}" --token_type "${src_token_type}" \
            $([ -z "${src_bpemodel}" ] || echo --bpemodel "${src_bpemodel}")
    fi
    ${python} -m espnet2_ext.stages.tokens --text "${data_feats}/${train_set}/${tgt_text}" \
        --token_type "${tgt_token_type}" --nbpe "${tgt_nbpe}" --bpemode "${tgt_bpemode}" \
        --out_dir "${tgt_tokendir}"
}

# Options of mt_train shared by statistics collection and training.
train_opts() {
    local split dir
    for split in train valid; do
        dir=${data_feats}/${train_set}
        [ "${split}" = valid ] && dir=${data_feats}/${valid_set}
        echo "--${split}_data_path_and_name_and_type ${dir}/${tgt_text},text,text" \
            "--${split}_data_path_and_name_and_type ${dir}/${src_text},src_text,text"
    done
    echo "--token_type ${tgt_token_type} --token_list ${tgt_token_list}"
    echo "--src_token_type ${src_token_type} --src_token_list ${src_token_list}"
    [ "${tgt_token_type}" = bpe ] && echo "--bpemodel ${tgt_bpemodel}"
    [ "${src_token_type}" = bpe ] && echo "--src_bpemodel ${src_bpemodel}"
    echo "--non_linguistic_symbols none --cleaner none --g2p none --config ${mt_config}"
}

stage9() {
    local split name
    # shellcheck disable=SC2046,SC2086
    collect_stats espnet2.bin.mt_train "${mt_stats_dir}" "${src_text}" \
        --use_preprocessor true $(train_opts) ${mt_args}
    # As ESPnet's mt.sh: <utt> <length>,<vocabulary size> for batch_type numel.
    for split in train valid; do
        for name in text src_text; do
            local list=${tgt_token_list} type=${tgt_token_type}
            [ "${name}" = src_text ] && list=${src_token_list} type=${src_token_type}
            ${python} -m espnet2_ext.stages.text_data shape --token_list "${list}" \
                --shape_file "${mt_stats_dir}/${split}/${name}_shape" \
                --out "${mt_stats_dir}/${split}/${name}_shape.${type}"
        done
    done
}

# The shape files depend on the data and the tokens only, so the stats dir is shared
# by every config, as in ESPnet.
stage9_inputs() {
    local dset
    for dset in "${train_set}" "${valid_set}"; do
        stamp_inputs "${data_feats}/${dset}/.done" "${data_feats}/${dset}/${src_text}" \
            "${data_feats}/${dset}/${tgt_text}"
    done
    stamp_inputs "${tgt_tokendir}/.done"
    if [ -n "${src_tokendir}" ]; then
        stamp_inputs "${src_tokendir}/.done"
    else
        stamp_inputs "${src_token_list}" ${src_bpemodel}
    fi
}

stage10_inputs() {
    stage9_inputs
    stamp_inputs "${mt_stats_dir}/.done" "${mt_config}"
    stamp_option args "$(train_opts) ${mt_args}"
}

# Training from changed inputs starts afresh: the old experiment is kept aside.
stage10_reset() { set_aside "${mt_exp}"; }

stage10() {
    local split shapes=()
    for split in train valid; do
        shapes+=(--"${split}"_shape_file "${mt_stats_dir}/${split}/text_shape.${tgt_token_type}"
            --"${split}"_shape_file "${mt_stats_dir}/${split}/src_text_shape.${src_token_type}")
    done
    # shellcheck disable=SC2046,SC2086
    launch_training espnet2.bin.mt_train "${mt_exp}" "${mt_tag}" $(train_opts) \
        "${shapes[@]}" --fold_length "${mt_text_fold_length}" \
        --fold_length "${mt_text_fold_length}" ${mt_args}
}

# The MT model has no CTC: ctc_weight 0 (mt_inference's default) keeps beam search off it.
stage11() {
    decode_sets espnet2.bin.mt_inference mt "${mt_exp}" "${src_text}" src_text text \
        --ctc_weight 0.0
}

stage12() {
    local dset _dir _opts=(--case "${score_case}" --tokenize "${score_tokenize}")
    [ "${score_remove_tags}" = true ] && _opts+=(--remove_tags)
    for dset in ${test_sets}; do
        _dir=$(decode_dir "${mt_exp}" "${dset}")
        ${python} -m espnet2_ext.scoring.st --hyp "${_dir}/text" \
            --ref "${data_feats}/${dset}/${tgt_text}" --outdir "${_dir}/score" \
            "${_opts[@]}"
        log "$(head -n 1 "${_dir}/score/result.txt") (${dset}, ${_dir}/score)"
    done
}

run_stage 1 "data preparation" stage1
run_stage 2 "format text" stage2
run_stage 3 "filter" stage3
run_stage 4 "token lists" stage4
run_stage 9 "collect stats" stage9 "${mt_stats_dir}/.done" stage9_inputs
run_stage 10 "training: ${mt_exp}" stage10 "${mt_exp}/.train.done" stage10_inputs
run_stage 11 "decoding" stage11
# Scoring is cheap and reads the current decode: always redone when selected.
run_stage 12 "scoring" stage12
log "Successfully finished. [elapsed=${SECONDS}s]"
