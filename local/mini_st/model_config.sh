# Sourced by the mini_st run.sh scripts (st1 and asr1); needs path.sh's ESPNET2_EXT_ROOT.
# mini_config MODEL OUT [MAX_EPOCH]: writes the training config of one model of the
# comparison (conf/model_mini.yaml + conf/frontend_mini.yaml + its fusion fragment).
# The `units` row reads ${units_codebook} (the k-means codebook run.sh fits);
# ${mini_frontend} replaces conf/frontend_mini.yaml when set (the trained upstream).

# The rows of the comparison (`--models all`), in the order of the paper's tables.
# shellcheck disable=SC2034  # read by the run.sh scripts that source this file
mini_models="fbank_only ssl_only units concat gated_no_gradient gsgn gsgn_drop noise"

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
    local conf=${ESPNET2_EXT_ROOT}/conf/fusion fragments=() sets=()
    mini_models_check "$1" || return 1
    case $1 in
        fbank_only | ssl_only | concat | gated_no_gradient | gsgn)
            fragments=("${conf}/$1.yaml") ;;
        gsgn_drop) fragments=(conf/fusion_gsgn_drop_mini.yaml) ;;
        # Table II: GSGN+Drop on noise in the S-feature's range, with the same mini
        # branch-dropout schedule as gsgn_drop (the mini file replaces the list).
        noise) fragments=("${conf}/noise_gsgn_drop.yaml" conf/fusion_gsgn_drop_mini.yaml) ;;
        # S-feature only, from k-means unit ids of one upstream layer.
        units)
            [ -n "${units_codebook:-}" ] || {
                echo "run.sh: model 'units' needs units_codebook (the k-means codebook)" >&2
                return 1
            }
            fragments=("${conf}/ssl_only.yaml")
            sets=(--set frontend_conf.ssl_view=units
                --set "frontend_conf.units_conf.codebook=${units_codebook}") ;;
    esac
    python3 -m espnet2_ext.recipe.compose_config conf/model_mini.yaml \
        "${mini_frontend:-conf/frontend_mini.yaml}" "${fragments[@]}" "${sets[@]}" \
        ${3:+--set max_epoch=$3} -o "$2"
}
