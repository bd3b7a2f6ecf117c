# Sourced by the mini_st run.sh scripts (st1 and asr1); needs path.sh's ESPNET2_EXT_ROOT.
# mini_config MODEL OUT [MAX_EPOCH]: writes the training config of one model of the
# comparison (conf/model_mini.yaml + conf/frontend_mini.yaml + its fusion fragment).
mini_config() {
    local fusion
    case $1 in
        fbank_only | ssl_only | gsgn | concat) fusion=${ESPNET2_EXT_ROOT}/conf/fusion/$1.yaml ;;
        gsgn_drop) fusion=conf/fusion_gsgn_drop_mini.yaml ;;
        *) echo "run.sh: unknown model '$1'" >&2; return 1 ;;
    esac
    python3 -m espnet2_ext.recipe.compose_config conf/model_mini.yaml \
        conf/frontend_mini.yaml "${fusion}" ${3:+--set max_epoch=$3} -o "$2"
}
