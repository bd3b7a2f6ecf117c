#!/usr/bin/env bash
# Shell pieces shared by the stage drivers (TEMPLATE/st1/st.sh, TEMPLATE/asr1/asr.sh,
# TEMPLATE/mt1/mt.sh).
# Source it from a driver after its options are parsed:
#
#   . "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../common/stages.sh"
#
# Wiring only: the work is done by the espnet2_ext.recipe modules. The functions read
# the driver's variables (ESPnet's option names) when they are called:
#
#   run_stage                stage stop_stage python
#   stamp_check, set_aside   python
#   training_data_inputs     data_feats train_set valid_set
#   all_sets                 train_set valid_set test_sets
#   speed_perturb_train      train_set train_sp speed_perturb_factors python
#   format_sets              + data_feats nj drop_truncated_audio
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

# stamp_check MARKER STAMP_ARGS...
# Compares what MARKER recorded with the current inputs (espnet2_ext.fileio.stamp) and
# sets stamp_status (new, resume, done, changed) and stamp_reason (what changed).
stamp_check() {
    local result
    result=$(${python} -m espnet2_ext.fileio.stamp check "$@")
    stamp_status=${result%%$'\t'*}
    stamp_reason=${result#*$'\t'}
}

# stamp_inputs FILE...: stamp arguments naming FILE... as inputs, one per line.
stamp_inputs() { local f; for f in "$@"; do printf -- '--input\n%s\n' "${f}"; done; }
# stamp_option NAME VALUE: the stamp arguments of one option (VALUE on one line).
stamp_option() { printf -- '--option\n%s=%s\n' "$1" "$(echo "$2" | paste -sd ' ')"; }

# run_stage N DESCRIPTION FUNCTION [MARKER [INPUTS]]
# Runs stage N if it is within --stage..--stop_stage. Stages whose modules stamp their
# outputs themselves (2-5) pass no marker. The others pass MARKER and INPUTS, a
# function printing the stamp arguments (stamp_inputs, stamp_option) of what the stage
# is made from: the stage is skipped while MARKER records the same inputs, and runs
# again when they changed, saying what changed; FUNCTION_reset, where defined, is
# called first (training sets the old experiment aside). MARKER is written only on
# success; a stage interrupted midway resumes.
run_stage() {
    local n=$1 description=$2 fn=$3 marker=${4:-} inputs=${5:-} start=${SECONDS}
    local stamp_args=()
    if [ "${stage}" -gt "${n}" ] || [ "${stop_stage}" -lt "${n}" ]; then return 0; fi
    if [ -n "${marker}" ]; then
        [ -z "${inputs}" ] || mapfile -t stamp_args < <("${inputs}")
        stamp_check "${marker}" "${stamp_args[@]}"
        case ${stamp_status} in
            done)
                log "Stage ${n}: ${description}: already done (${marker}) - skipping${stamp_reason:+ (${stamp_reason})}"
                return 0 ;;
            changed)
                log "Stage ${n}: ${description}: ${stamp_reason} since it ran - running it again"
                if declare -F "${fn}_reset" >/dev/null; then "${fn}_reset"; fi ;;
            resume) log "Stage ${n}: ${description}: resuming (same inputs as the interrupted run)" ;;
        esac
        ${python} -m espnet2_ext.fileio.stamp start "${marker}" "${stamp_args[@]}"
    fi
    log "Stage ${n}: ${description}"
    "${fn}"
    [ -z "${marker}" ] || ${python} -m espnet2_ext.fileio.stamp finish "${marker}"
    log "Stage ${n}: done in $((SECONDS - start)) s"
}

# set_aside DIR: moves DIR (made from other inputs) to DIR.old-<time>, keeping it.
set_aside() {
    [ -e "$1" ] || return 0
    local old
    old="$1.old-$(date +%Y%m%d-%H%M%S)"
    mv "$1" "${old}"
    log "moved $1 (made from the earlier inputs) to ${old}"
}

# training_data_inputs: stamp inputs of the formatted train and valid sets (stage 4's
# stamps and the files training reads).
training_data_inputs() {
    local dset dir
    for dset in "${train_set}" "${valid_set}"; do
        dir=${data_feats}/${dset}
        stamp_inputs "${dir}/.done" "${dir}/wav.scp" "${dir}/utt2num_samples" "${dir}"/text*
    done
}

# The train, valid and test sets, each once, in that order.
all_sets() { echo "${train_set}" "${valid_set}" ${test_sets} | tr ' ' '\n' | awk '!seen[$0]++'; }

# token_tag TYPE NBPE MODE: the name part of a token list dir (bpe_unigram1000, char).
token_tag() { if [ "$1" = bpe ]; then echo "bpe_$3$2"; else echo "$1"; fi; }

# Stage 2: data/${train_sp} from data/${train_set}, one copy per factor.
speed_perturb_train() {
    # shellcheck disable=SC2086
    ${python} -m espnet2_ext.stages.speed_perturb --src "data/${train_set}" \
        --dst "data/${train_sp}" --factors ${speed_perturb_factors}
}

# Stage 3: every set as 16 kHz mono wavs in ${data_feats}/org/<set>.
format_sets() {
    local dset _src
    for dset in $(all_sets); do
        _src=${dset}
        [ "${dset}" = "${train_set}" ] && _src=${train_sp}
        # shellcheck disable=SC2046
        ${python} -m espnet2_ext.stages.format_wav "data/${_src}" \
            "${data_feats}/org/${dset}" --nj "${nj}" \
            $([ "${drop_truncated_audio:-false}" = true ] && echo --drop_truncated)
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
        ${python} -m espnet2_ext.stages.filter "${data_feats}/org/${dset}" \
            "${data_feats}/${dset}" "${texts[@]}" "${opts[@]}"
    done
}

# collect_stats MODULE STATS_DIR KEY_NAME TRAIN_ARGS...
# Stage 10: shape files (and statistics) of the train and valid sets with
# `python -m MODULE --collect_stats true TRAIN_ARGS...`, aggregated into STATS_DIR.
# The jobs' keys are the lines of ${data_feats}/<set>/KEY_NAME (wav.scp; the source
# text for text-only data), in as many jobs as the smaller set allows (at most ${nj}).
# TRAIN_ARGS are the task's data, token and config options; the job's shape files are
# given here.
collect_stats() {
    local module=$1 stats_dir=$2 key_name=$3 _logdir=$2/logdir _nj=${nj} i n
    shift 3
    mkdir -p "${_logdir}"
    for i in "${train_set}" "${valid_set}"; do
        n=$(grep -c . "${data_feats}/${i}/${key_name}" || true)
        [ "${n}" -ge "${_nj}" ] || _nj=${n}
    done
    ${python} -m espnet2_ext.stages.split --scp "${data_feats}/${train_set}/${key_name}" \
        --nj "${_nj}" --out_dir "${_logdir}/train"
    ${python} -m espnet2_ext.stages.split --scp "${data_feats}/${valid_set}/${key_name}" \
        --nj "${_nj}" --out_dir "${_logdir}/valid"
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
# unless it leaves EXP/${inference_model}. Meanwhile espnet2_ext.stages.progress
# prints one line per finished epoch of EXP/train.log; it is stopped when training
# exits (or this shell does) and never changes the outcome.
launch_training() {
    local module=$1 exp=$2 tag=$3 rc=0 follower previous_trap shell=${BASHPID}
    shift 3
    mkdir -p "${exp}"
    ${python} -m espnet2_ext.stages.progress "${exp}/train.log" --tag "${tag}" \
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

# decode_sets MODULE TASK EXP [INPUT NAME TYPE [ARGS...]]
# Stage 12: decodes ${data_feats}/<set>/INPUT (default wav.scp, given to MODULE as
# `INPUT,NAME,TYPE`, default `speech,sound`) of every test set with `python -m MODULE
# --TASK_train_config EXP/config.yaml --TASK_model_file EXP/${inference_model}`
# (ESPnet's inference options for TASK st, asr or mt) in ${inference_nj} jobs, and
# merges their 1best_recog/text into $(decode_dir EXP SET)/text. ARGS go before
# ${inference_args} (which may override them) and are stamped with them. A set decoded
# (.done) with the same model, data and options is skipped; one whose inputs changed is
# decoded again. First, a set of audio with utterances too short for the model fails,
# naming them (espnet2_ext.bin.short_utts).
decode_sets() {
    local module=$1 task=$2 exp=$3 input=${4:-wav.scp} name=${5:-speech}
    local type=${6:-sound} dset _dir _logdir _nj _ngpu=0 _args=() _opts=() _extra
    shift $(($# < 6 ? $# : 6))
    _extra="$*"
    [ "${gpu_inference}" = true ] && _ngpu=1
    [ -n "${inference_config}" ] && _opts+=(--config "${inference_config}")
    for dset in ${test_sets}; do
        _dir=$(decode_dir "${exp}" "${dset}")
        mapfile -t _args < <(stamp_inputs "${exp}/${inference_model}" "${exp}/config.yaml" \
            "${data_feats}/${dset}/.done" "${data_feats}/${dset}/${input}" \
            ${inference_config}
            stamp_option args "${_extra:+${_extra} }${inference_args}")
        stamp_check "${_dir}/.done" "${_args[@]}"
        case ${stamp_status} in
            done) log "${_dir} already decoded - skipping"; continue ;;
            changed) log "${_dir}: ${stamp_reason} since it was decoded - decoding again" ;;
        esac
        # Utterances too short for the model would fail inside a decoding job.
        [ "${type}" != sound ] || ${python} -m espnet2_ext.bin.short_utts \
            --task "${task}" --config "${exp}/config.yaml" --data "${data_feats}/${dset}"
        _logdir=${_dir}/logdir
        rm -rf "${_logdir}"
        mkdir -p "${_logdir}"
        ${python} -m espnet2_ext.fileio.stamp start "${_dir}/.done" "${_args[@]}"
        ${python} -m espnet2_ext.stages.split --scp "${data_feats}/${dset}/${input}" \
            --nj "${inference_nj}" --out_dir "${_logdir}"
        _nj=$(find "${_logdir}" -maxdepth 1 -name 'keys.*.scp' | wc -l)
        # shellcheck disable=SC2086
        ${decode_cmd} --gpu "${_ngpu}" JOB=1:"${_nj}" "${_logdir}/${task}_inference.JOB.log" \
            ${python} -m "${module}" --ngpu "${_ngpu}" \
            --data_path_and_name_and_type "${data_feats}/${dset}/${input},${name},${type}" \
            --key_file "${_logdir}/keys.JOB.scp" \
            --"${task}"_train_config "${exp}/config.yaml" \
            --"${task}"_model_file "${exp}/${inference_model}" \
            --output_dir "${_logdir}/output.JOB" "${_opts[@]}" "$@" ${inference_args}
        ${python} -m espnet2_ext.stages.split --merge "${_logdir}" --nj "${_nj}" \
            --name 1best_recog/text --out "${_dir}/text"
        ${python} -m espnet2_ext.fileio.stamp finish "${_dir}/.done"
    done
}
