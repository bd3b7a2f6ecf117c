#!/usr/bin/env bash
# mini_superb/asr1: the ML-SUPERB benchmark (../../ml_superb/asr1) end to end on a 2-core
# CPU, on an embedded multilingual corpus built here: real sentences of several
# languages (the translated sides of gettext catalogs in PyPI wheels) spoken by
# espeak-ng voices, in ML-SUPERB's released layout (espnet2_ext.recipes.ml_superb.mini_corpus).
# The model is the protocol's; the training budget is conf/train_mini.yaml's.
#
#   ./run.sh                                # fbank / weighted_sum / gsgn at lr 1e-3
#   ./run.sh --lrs "1e-3 3e-4"              # adds the new cells only
#   ./run.sh --tracks "multi_lid_10min mono_fra_10min" --frontends "fbank hconv_2up"
set -euo pipefail

tracks=multi_lid_10min
frontends="fbank weighted_sum gsgn"  # + hconv concat hconv_2up chconv_2up
lrs=1e-3
upstream=random     # random: mini HuBERTs with random weights; trained: ../../mini_st's
corpus_opts=        # options of espnet2_ext.recipes.ml_superb.mini_corpus, e.g. "--langs fra deu"
max_epoch=          # override conf/train_mini.yaml
feature_cache=2GB   # the frozen upstreams' hidden states, computed once per utterance
parallel=1
nj=2
inference_nj=2
seed=0
help_message="Usage: $0 [--tracks \"...\"] [--frontends \"...\"] [--lrs \"...\"] [--upstream random|trained]
$(utils/print_options.sh "${BASH_SOURCE[0]}")"

. utils/parse_options.sh
. ./path.sh
. ./db.sh

# The corpus (skipped when built with the same options).
# shellcheck disable=SC2086
python3 -m espnet2_ext.recipes.ml_superb.mini_corpus --root "${MLSUPERB}" --seed "${seed}" \
    --nj "${nj}" ${corpus_opts}

# The upstreams: two random-weight mini HuBERTs (s3prl's classes, converted format), or
# the one pre-trained on this machine by ../../mini_st/st1/local/upstream.sh.
case ${upstream} in
    random)
        ups=()
        for s in 0 1; do
            python3 -m espnet2_ext.upstream.random_weights --preset mini --seed "${s}" \
                "exp/upstream/hubert_mini_seed${s}.pt"
            ups+=("exp/upstream/hubert_mini_seed${s}.pt")
        done ;;
    trained)
        trained=../../mini_st/st1/exp/upstream/hubert_mini_trained.pt
        [ -f "${trained}" ] || {
            echo "$0: no ${trained}: run '(cd ../../mini_st/st1 && ./run.sh --ssl_upstream trained --stop_stage 1)' first" >&2
            exit 1; }
        python3 -m espnet2_ext.upstream.random_weights --preset mini --seed 1 \
            exp/upstream/hubert_mini_seed1.pt
        ups=("${trained}" exp/upstream/hubert_mini_seed1.pt) ;;
    *) echo "$0: --upstream is random or trained, not '${upstream}'" >&2; exit 1 ;;
esac

# shellcheck disable=SC2086
python3 -m espnet2_ext.recipes.ml_superb.bench --tracks ${tracks} --frontends ${frontends} \
    --lrs ${lrs} --upstreams "${ups[@]}" \
    --model_config conf/train_asr.yaml conf/train_mini.yaml \
    --inference_config conf/decode_asr.yaml ${max_epoch:+--max_epoch ${max_epoch}} \
    ${feature_cache:+--feature_cache ${feature_cache}} \
    --parallel "${parallel}" \
    --asr_opts "--ngpu 0 --nj ${nj} --inference_nj ${inference_nj}"
