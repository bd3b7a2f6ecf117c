#!/usr/bin/env bash
# Shell pieces shared by the stage drivers (TEMPLATE/st1/st.sh, TEMPLATE/asr1/asr.sh).
# Source it from a driver after its options are parsed:
#
#   . "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../common/stages.sh"
#
# Wiring only: the work is done by the espnet2_ext.recipe modules. The functions read
# the driver's variables (ESPnet's option names) when they are called:
#
#   run_stage                stage stop_stage
#   all_sets                 train_set valid_set test_sets
#   speed_perturb_train      train_set train_sp speed_perturb_factors python
#   format_sets              + data_feats nj
#   filter_sets              + min_wav_duration max_wav_duration
#   token_tag                (none: the bpe mode is its third argument)
#   collect_stats            data_feats train_set valid_set nj train_cmd python
#   launch_training          ngpu num_nodes cuda_cmd inference_model python
#   decode_dir, decode_sets  test_sets data_feats inference_nj gpu_inference decode_cmd
#                            inference_config inference_args inference_model python
#
# train_sp is the data dir stage 2 writes: ${train_set}_sp with speed perturbation,
# else ${train_set}. Stage 3 formats it into ${data_feats}/${train_set}.

# Prints a message with the time and the caller's file:line:function, to stderr.
log() {
    local fname=${BASH_SOURCE[1]##*/}
    echo -e "$(date '+%Y-%m-%dT%H:%M:%S') (${fname}:${BASH_LINENO[0]}:${FUNCNAME[1]}) $*" >&2
}

# run_stage N DESCRIPTION FUNCTION [MARKER]
# Runs stage N if it is within --stage..--stop_stage. Stages whose modules skip finished
# outputs themselves need no marker; the others pass one, written only on success, and
# are skipped while it exists.
run_stage() {
    local n=$1 description=$2 fn=$3 marker=${4:-} start=${SECONDS}
    if [ "${stage}" -gt "${n}" ] || [ "${stop_stage}" -lt "${n}" ]; then return 0; fi
    if [ -n "${marker}" ] && [ -f "${marker}" ]; then
        log "Stage ${n}: ${description}: already done (${marker}) - skipping"
        return 0
    fi
    log "Stage ${n}: ${description}"
    "${fn}"
    if [ -n "${marker}" ]; then mkdir -p "$(dirname "${marker}")"; touch "${marker}"; fi
    log "Stage ${n}: done in $((SECONDS - start)) s"
}

# The train, valid and test sets, each once, in that order.
all_sets() { echo "${train_set}" "${valid_set}" ${test_sets} | tr ' ' '\n' | awk '!seen[$0]++'; }

# token_tag TYPE NBPE MODE: the name part of a token list dir (bpe_unigram1000, char).
token_tag() { if [ "$1" = bpe ]; then echo "bpe_$3$2"; else echo "$1"; fi; }

# Stage 2: data/${train_sp} from data/${train_set}, one copy per factor.
speed_perturb_train() {
    # shellcheck disable=SC2086
    ${python} -m espnet2_ext.recipe.speed_perturb --src "data/${train_set}" \
        --dst "data/${train_sp}" --factors ${speed_perturb_factors}
}

# Stage 3: every set as 16 kHz mono wavs in ${data_feats}/org/<set>.
format_sets() {
    local dset _src
    for dset in $(all_sets); do
        _src=${dset}
        [ "${dset}" = "${train_set}" ] && _src=${train_sp}
        ${python} -m espnet2_ext.recipe.format_wav "data/${_src}" \
            "${data_feats}/org/${dset}" --nj "${nj}"
    done
}

# filter_sets TEXT_FILE...
# Stage 4: ${data_feats}/<set> without empty transcripts (in any TEXT_FILE) and, for the
# train and valid sets, without utterances outside the duration limits.
filter_sets() {
    local dset name texts=()
    for name in "$@"; do texts+=(--text "${name}"); done
    for dset in $(all_sets); do
        local opts=()
        if [ "${dset}" = "${train_set}" ] || [ "${dset}" = "${valid_set}" ]; then
            opts=(--min_duration "${min_wav_duration}" --max_duration "${max_wav_duration}")
        fi
        ${python} -m espnet2_ext.recipe.filter "${data_feats}/org/${dset}" \
            "${data_feats}/${dset}" "${texts[@]}" "${opts[@]}"
    done
}

# collect_stats MODULE STATS_DIR TRAIN_ARGS...
# Stage 10: shape files (and statistics) of the train and valid sets with
# `python -m MODULE --collect_stats true TRAIN_ARGS...` in ${nj} jobs, aggregated into
# STATS_DIR. TRAIN_ARGS are the task's data, token and config options; the job's shape
# files are given here.
collect_stats() {
    local module=$1 stats_dir=$2 _logdir=$2/logdir _nj i
    shift 2
    mkdir -p "${_logdir}"
    ${python} -m espnet2_ext.recipe.split --scp "${data_feats}/${train_set}/wav.scp" \
        --nj "${nj}" --out_dir "${_logdir}/train"
    ${python} -m espnet2_ext.recipe.split --scp "${data_feats}/${valid_set}/wav.scp" \
        --nj "${nj}" --out_dir "${_logdir}/valid"
    _nj=$(find "${_logdir}/train" -name 'keys.*.scp' | wc -l)
    ${train_cmd} JOB=1:"${_nj}" "${_logdir}"/stats.JOB.log \
        ${python} -m "${module}" --collect_stats true \
        --train_shape_file "${_logdir}/train/keys.JOB.scp" \
        --valid_shape_file "${_logdir}/valid/keys.JOB.scp" \
        --output_dir "${_logdir}/stats.JOB" "$@"
    local _dirs=()
    for i in $(seq "${_nj}"); do _dirs+=(--input_dir "${_logdir}/stats.${i}"); done
    ${python} -m espnet2.bin.aggregate_stats_dirs "${_dirs[@]}" --output_dir "${stats_dir}"
}

# launch_training MODULE EXP TAG TRAIN_ARGS...
# Stage 11: `python -m MODULE --resume true --output_dir EXP TRAIN_ARGS...` through
# espnet2.bin.launch (${ngpu} GPUs per node, ${num_nodes} nodes, ${cuda_cmd}); fails
# unless it leaves EXP/${inference_model}. Meanwhile espnet2_ext.recipe.progress
# prints one line per finished epoch of EXP/train.log; it is stopped when training
# exits (or this shell does) and never changes the outcome.
launch_training() {
    local module=$1 exp=$2 tag=$3 rc=0 follower previous_trap shell=${BASHPID}
    shift 3
    mkdir -p "${exp}"
    ${python} -m espnet2_ext.recipe.progress "${exp}/train.log" --tag "${tag}" \
        --pid "${shell}" --since "$(date +%s)" &
    follower=$!
    previous_trap=$(trap -p EXIT)
    # shellcheck disable=SC2064
    trap "kill ${follower} 2>/dev/null || true" EXIT
    ${python} -m espnet2.bin.launch --cmd "${cuda_cmd} --name ${tag}" \
        --log "${exp}/train.log" --ngpu "${ngpu}" --num_nodes "${num_nodes}" \
        --init_file_prefix "${exp}/.dist_init_" --multiprocessing_distributed true -- \
        ${python} -m "${module}" --use_preprocessor true --resume true \
        --output_dir "${exp}" "$@" || rc=$?
    # SIGTERM: the follower prints what is left in the log, then exits.
    kill "${follower}" 2>/dev/null || true
    wait "${follower}" 2>/dev/null || true
    eval "${previous_trap:-trap - EXIT}"
    [ "${rc}" -eq 0 ] || exit "${rc}"
    [ -e "${exp}/${inference_model}" ] || {
        log "error: training finished without ${exp}/${inference_model}; see ${exp}/train.log"
        exit 1
    }
}

# decode_dir EXP SET: where stage 12 writes the decoding of SET with ${inference_model}.
decode_dir() { echo "$1/decode_$2_$(basename "${inference_model}" .pth)"; }

# decode_sets MODULE TASK EXP
# Stage 12: decodes every test set with `python -m MODULE --TASK_train_config
# EXP/config.yaml --TASK_model_file EXP/${inference_model}` (ESPnet's inference options
# for TASK st or asr) in ${inference_nj} jobs, and merges their 1best_recog/text into
# $(decode_dir EXP SET)/text. A set already decoded (.done) is skipped.
decode_sets() {
    local module=$1 task=$2 exp=$3 dset _dir _logdir _nj _ngpu=0
    [ "${gpu_inference}" = true ] && _ngpu=1
    local _opts=()
    [ -n "${inference_config}" ] && _opts+=(--config "${inference_config}")
    for dset in ${test_sets}; do
        _dir=$(decode_dir "${exp}" "${dset}")
        [ -f "${_dir}/.done" ] && { log "${_dir} already decoded - skipping"; continue; }
        _logdir=${_dir}/logdir
        mkdir -p "${_logdir}"
        ${python} -m espnet2_ext.recipe.split --scp "${data_feats}/${dset}/wav.scp" \
            --nj "${inference_nj}" --out_dir "${_logdir}"
        _nj=$(find "${_logdir}" -maxdepth 1 -name 'keys.*.scp' | wc -l)
        # shellcheck disable=SC2086
        ${decode_cmd} --gpu "${_ngpu}" JOB=1:"${_nj}" "${_logdir}/${task}_inference.JOB.log" \
            ${python} -m "${module}" --ngpu "${_ngpu}" \
            --data_path_and_name_and_type "${data_feats}/${dset}/wav.scp,speech,sound" \
            --key_file "${_logdir}/keys.JOB.scp" \
            --"${task}"_train_config "${exp}/config.yaml" \
            --"${task}"_model_file "${exp}/${inference_model}" \
            --output_dir "${_logdir}/output.JOB" "${_opts[@]}" ${inference_args}
        ${python} -m espnet2_ext.recipe.split --merge "${_logdir}" --nj "${_nj}" \
            --name 1best_recog/text --out "${_dir}/text"
        touch "${_dir}/.done"
    done
}
