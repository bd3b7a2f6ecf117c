# Sourced by the mini_st run.sh scripts (st1 and asr1) after path.sh (python3 and the
# package). The rows of the comparison and their fragments are those of
# espnet2_ext.stages.rows (`python3 -m espnet2_ext.stages.rows list`).
# mini_config MODEL OUT [MAX_EPOCH]: writes the training config of one row:
# conf/model_mini.yaml + conf/frontend_mini.yaml + the row's fragments (+ the mini
# branch-dropout schedule, for the rows that have one). The `units` row reads
# ${units_codebook} (the k-means codebook run.sh fits); ${mini_frontend} replaces
# conf/frontend_mini.yaml when set (the trained upstream).

# The rows of the comparison (`--models all`), in the order of the paper's tables, and
# those that run the SSL upstream.
# shellcheck disable=SC2034  # read by the run.sh scripts that source this file
mini_models=$(python3 -m espnet2_ext.stages.rows list)
# shellcheck disable=SC2034
mini_ssl_models=$(python3 -m espnet2_ext.stages.rows list --ssl)

# mini_models_check MODELS...: fails with one line naming the valid models unless
# every argument is one of them.
mini_models_check() {
    local m
    for m in "$@"; do
        case " ${mini_models} " in
            *" ${m} "*) ;;
            *) echo "run.sh: unknown model '${m}'; valid: ${mini_models} (or all)" >&2
               return 1 ;;
        esac
    done
}

mini_config() {
    mini_models_check "$1" || return 1
    # The branch-dropout rows get the paper's schedule compressed to 12 epochs.
    python3 -m espnet2_ext.stages.rows config "$1" conf/model_mini.yaml \
        "${mini_frontend:-conf/frontend_mini.yaml}" \
        --extra gsgn_drop=conf/fusion_gsgn_drop_mini.yaml \
        --extra noise=conf/fusion_gsgn_drop_mini.yaml \
        ${units_codebook:+--codebook "${units_codebook}"} \
        ${3:+--set max_epoch=$3} -o "$2"
}
