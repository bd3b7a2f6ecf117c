#!/usr/bin/env bash
# mini_st: an embedded English->German/French/Spanish ST corpus built on this machine
# (synthetic English speech; grammar-generated targets, or human translations with
# --corpus gettext), then the full pipeline (stages 1-13) for the models the comparison
# needs, ending with one table.
#
#   ./run.sh                      # En-De, FBank-only / SSL-only / GSGN+Drop, the SSL
#                                 # view on a mini HuBERT pre-trained here (stage 1)
#   ./run.sh --ssl_upstream random  # the SSL view on a random-weight HuBERT instead
#   ./run.sh --tgt_lang fr        # or es
#   ./run.sh --corpus gettext     # human UI-string translations (much harder)
#   ./run.sh --models gsgn_drop --max_epoch 3
#   ./run.sh --models all         # every row of the paper's comparison
#   ./run.sh --asr_init true      # acoustic encoders start from ../asr1's FBank ASR model
#   ./run.sh --seeds "1 2 3"      # each model once per seed (mean +- std in the table)
set -euo pipefail

tgt_lang=de         # de, fr or es
corpus=grammar      # grammar (generated, learnable) or gettext (human translations)
ssl_upstream=trained # trained (pre-trained here, cached) or random (random weights)
models="fbank_only ssl_only gsgn_drop"  # rows of espnet2_ext.stages.rows, or "all"
stage=1             # first stage of st.sh to run
stop_stage=13       # last stage of st.sh to run
nj=2                # parallel jobs (corpus synthesis, formatting, statistics)
inference_nj=2      # parallel decoding jobs
ngpu=0              # GPUs for training (0: CPU)
local_data_opts=    # e.g. "--max_pairs 40 --dev_sentences 8 --test_sentences 8"
max_epoch=          # override conf/model_mini.yaml
token_type=bpe      # bpe or char, for both languages
nbpe=150            # sentencepiece vocabulary size of each language
st_args=            # extra options of st_train
# The `units` row: k-means units of one hidden state of the SSL view's upstream.
units_layer=3       # hidden state to quantise (0: CNN output; the mini upstream has 4+1)
num_units=100       # mini default; the paper: 500 on HuBERT Base layer 9 (L9_km500)
fit_units_args=     # extra options of fit_units, e.g. "--max_utts 500 --n_init 5"
asr_init=false      # true: initialise each ST acoustic encoder from an FBank-only ASR model
asr_recipe=../asr1  # the ASR recipe that trains (or has trained) that model
seeds=              # e.g. "1 2 3": ESPnet's --seed N, tags _seed<N>; empty: one run, seed 0
help_message="Usage: $0 [--tgt_lang de|fr|es] [--models \"...\"|all] [--stage N] [--stop_stage N]
$(utils/print_options.sh "${BASH_SOURCE[0]}")"

run_command=./run.sh  # with its arguments quoted: named in the RESULTS file
if [ $# -gt 0 ]; then run_command+=$(printf ' %q' "$@"); fi
. utils/parse_options.sh
. ./path.sh

. local/model_config.sh

# The default corpus uses data/{train,dev,test}, data/token_list and exp/; another corpus
# gets its own set names, token lists and experiment folder so that nothing is shared.
sets=(train dev test)
token_listdir=data/token_list
expdir=exp
if [ "${corpus}" != grammar ]; then
    sets=("${corpus}_train" "${corpus}_dev" "${corpus}_test")
    token_listdir=data/token_list_${corpus}
    expdir=exp/${corpus}
fi

tokens=${token_type}
[ "${token_type}" = bpe ] && tokens=bpe${nbpe}
# The random-weight upstream's experiments (and codebook) are tagged _random, so that
# they never resume the trained upstream's; a row that runs no upstream (not in
# ${mini_ssl_models}: fbank_only) is shared.
upstream_suffix=
case ${ssl_upstream} in
    trained) mini_frontend=conf/frontend_mini_trained.yaml ;;  # read by mini_config
    random) upstream_suffix=_random ;;
    *) echo "run.sh: --ssl_upstream is trained or random, not '${ssl_upstream}'" >&2
       exit 1 ;;
esac

# --- Models and their configs (a bad name fails here, before any stage runs) -------
[ "${models}" = all ] && models=${mini_models}
# shellcheck disable=SC2086
mini_models_check ${models}
# --seeds: one experiment per seed, tagged _seed<N> (the report groups them).
read -ra seed_list <<< "${seeds}"
[ "${#seed_list[@]}" -gt 0 ] || seed_list=("")  # one run, no tag suffix
for seed in "${seed_list[@]}"; do
    [[ -z "${seed}" || "${seed}" =~ ^[0-9]+$ ]] || {
        echo "run.sh: --seeds takes integers; got '${seed}'" >&2; exit 1; }
done
# read by mini_config
units_codebook=${expdir}/units/km${num_units}_layer${units_layer}${upstream_suffix}.pt
for model in ${models}; do
    mini_config "${model}" "exp/configs/${model}.yaml" "${max_epoch}"
done
st_opts=(--ngpu "${ngpu}" --nj "${nj}" --inference_nj "${inference_nj}"
    --local_data_opts "--nj ${nj} --corpus ${corpus} --ssl_upstream ${ssl_upstream} ${local_data_opts}"
    --src_lang en --tgt_lang "${tgt_lang}" --train_set "${sets[0]}"
    --valid_set "${sets[1]}" --test_sets "${sets[1]} ${sets[2]}"
    --expdir "${expdir}" --token_listdir "${token_listdir}"
    --src_token_type "${token_type}" --src_nbpe "${nbpe}"
    --tgt_token_type "${token_type}" --tgt_nbpe "${nbpe}"
    --inference_config conf/decode.yaml)

# --- Units: the k-means codebook of the `units` row, fitted once --------------------
# On the formatted training wavs (st.sh's data stages 1-4 first), on the upstream of
# the units config; fit_units skips it while the stamp beside the codebook records
# these arguments and inputs.
if [[ " ${models} " == *" units "* ]] && [ "${stop_stage}" -ge 10 ]; then
    if [ "${stage}" -le 4 ]; then
        ./st.sh "${st_opts[@]}" --stage "${stage}" --stop_stage 4 \
            --st_config exp/configs/units.yaml
    fi
    python3 -m espnet2_ext.stages.fit_units --wav_scp "dump/raw/${sets[0]}/wav.scp" \
        --config exp/configs/units.yaml --layer "${units_layer}" \
        --num_units "${num_units}" --output "${units_codebook}" ${fit_units_args}
fi

# --- ASR initialisation (ESPnet's MuST-C practice; the paper's Table IV) ------------
# The FBank-only model of ${asr_recipe} on the same corpus (its stages skip what is
# done); only its encoder is copied (see espnet2_ext/stages/asr_init.py).
asr_suffix=
asr_model=
if [ "${asr_init}" = true ]; then
    [ "${corpus}" = grammar ] || {
        echo "run.sh: --asr_init true needs the grammar corpus (${asr_recipe} builds it)" >&2
        exit 1
    }
    asr_suffix=_asrinit
    asr_model=${asr_recipe}/exp/asr_fbank_only_${tokens}/valid.acc.ave.pth
    if [ "${stage}" -le 11 ] && [ "${stop_stage}" -ge 11 ]; then
        (cd "${asr_recipe}" && ./run.sh --models fbank_only --stop_stage 11 \
            --nj "${nj}" --inference_nj "${inference_nj}" --ngpu "${ngpu}" \
            --local_data_opts "${local_data_opts}" --token_type "${token_type}" \
            --nbpe "${nbpe}" ${max_epoch:+--max_epoch "${max_epoch}"})
    fi
fi

exps=()
for model in ${models}; do
    config=exp/configs/${model}.yaml
    # NOTE: not st.sh's --pretrained_asr, whose "<file>:encoder:encoder" ESPnet
    # rejects here: the ASR encoder has a block more than the ST acoustic encoder.
    init_args=
    if [ -n "${asr_model}" ] && [ "${stage}" -le 11 ] && [ "${stop_stage}" -ge 11 ]; then
        init_args="--init_param $(python3 -m espnet2_ext.stages.asr_init \
            --asr_model "${asr_model}" --st_config "${config}")"
    fi
    for seed in "${seed_list[@]}"; do
        suffix=
        [[ " ${mini_ssl_models} " == *" ${model} "* ]] && suffix=${upstream_suffix}
        tag=${model}_${tgt_lang}_${tokens}${suffix}${asr_suffix}${seed:+_seed${seed}}
        ./st.sh "${st_opts[@]}" --stage "${stage}" --stop_stage "${stop_stage}" \
            --st_config "${config}" --st_tag "${tag}" \
            --st_args "${st_args} ${init_args} ${seed:+--seed ${seed}}"
        exps+=("${expdir}/st_${tag}")
    done
done

if [ "${stop_stage}" -ge 13 ]; then
    python3 -m espnet2_ext.stages.report "${exps[@]}" --sets "${sets[1]}" "${sets[2]}" \
        --out "${expdir}/results_${tgt_lang}_${tokens}" \
        --results_md "${expdir}/RESULTS_${tgt_lang}_${tokens}.md" \
        --command "${run_command}"
    # Gate diagnostics over training (the paper's Fig. 3 and 4) of every model.
    python3 -m espnet2_ext.stages.plot_gate "${exps[@]}" --smooth 5 \
        --out "${expdir}/gate_${tgt_lang}_${tokens}.png"
fi
