#!/usr/bin/env bash
# MuST-C v1/v2 English -> German / French / Spanish speech translation: the GSGN paper's
# experiments (Tables I-IV) and ESPnet's conformer baseline, on our stage drivers,
# ending with one table beside the published numbers. Users bring the corpus (db.sh);
# see README.md here for the presets, GPU batch settings and the stock-ESPnet path.
#
#   ./run.sh --tgt_lang de                           # Table I: FBank, S-feature, GSGN(+Drop)
#   ./run.sh --tgt_lang fr --models all              # every row of Tables I-III
#   ./run.sh --models "fbank_only gsgn_drop" \
#       --pretrained_asr /path/to/asr/valid.acc.ave_10best.pth          # Table IV
#   ./run.sh --models espnet_conformer --pretrained_asr ../asr1/exp/.../valid.acc.ave_10best.pth \
#       --pretrained_asr_keys "encoder:encoder decoder:extra_asr_decoder ctc:ctc"
#   ./run.sh --ngpu 4                                # DDP on one node (espnet2.bin.launch)
#   cmd_backend=slurm ./run.sh --ngpu 8 --num_nodes 2  # Slurm, 2 nodes x 8 GPUs
set -euo pipefail

tgt_lang=de            # de, fr or es (v2: de)
mustc_version=1        # 1 or 2 (db.sh: MUST_C / MUST_C_V2)
models="fbank_only ssl_only gsgn gsgn_drop"  # rows of espnet2_ext.recipes.mustc.presets, or "all"
upstream=              # empty: HuBERT Base via s3prl (downloads once); or a converted checkpoint
model_fragment=        # empty: each row's own (conf/model/mustc_paper.yaml); e.g. conf/tuning/model_tiny.yaml
stage=1                # first stage of st.sh to run
stop_stage=13          # last stage of st.sh to run
ngpu=1                 # GPUs per node for training
num_nodes=1            # nodes for training (Slurm: cmd_backend=slurm)
nj=16                  # parallel jobs (formatting, statistics)
inference_nj=16        # parallel decoding jobs
gpu_inference=true     # decode on GPUs
speed_perturb_factors= # e.g. "0.9 1.0 1.1" (ESPnet's MuST-C recipes use it)
src_nbpe=4000          # sentencepiece sizes (ESPnet's MuST-C recipes: 4000 each)
tgt_nbpe=4000
# The `units` row: k-means units of one upstream layer, fitted once (the paper: 500 on
# HuBERT Base layer 9).
units_layer=9
num_units=500
fit_units_args="--max_utts 20000 --max_frames 1000000"  # a training subset
pretrained_asr=        # ASR checkpoint that initialises each model (Table IV); tag _asrinit
pretrained_asr_keys=encoder:encoder  # <from>:<to> parts it initialises
st_args=               # extra options of st_train, e.g. "--max_epoch 2"
inference_config=conf/decode_st.yaml  # beam 5, length-normalised (the paper's decoding)
local_data_opts=       # extra options of local/data.sh
help_message="Usage: $0 [--tgt_lang de|fr|es] [--mustc_version 1|2] [--models \"...\"|all] [--stage N] [--stop_stage N]
$(utils/print_options.sh "${BASH_SOURCE[0]}")"

. utils/parse_options.sh
. ./path.sh

# Version 2 gets its own set names, token lists and experiment folder.
suffix=
[ "${mustc_version}" = 2 ] && suffix=_v2
pair=en-${tgt_lang}
train_set=train${suffix}.${pair}
valid_set=dev${suffix}.${pair}
test_sets="tst-COMMON${suffix}.${pair} tst-HE${suffix}.${pair}"
expdir=exp${suffix}
tokens=bpe${tgt_nbpe}

# --- Configs (a bad row fails here, before any stage runs) --------------------------
[ "${models}" = all ] && models=$(python3 -c \
    "from espnet2_ext.recipes.mustc.presets import PAPER_ROWS; print(*PAPER_ROWS)")
units_codebook=${expdir}/units/L${units_layer}_km${num_units}.pt
preset() {  # preset ROW OUT: the row's training config
    local opts=(--row "$1" -o "$2")
    [ -n "${model_fragment}" ] && opts+=(--model "${model_fragment}")
    [ "$1" = units ] && opts+=(--codebook "${units_codebook}")
    if [ -n "${upstream}" ] && [ "$1" != espnet_conformer ]; then
        opts+=(--upstream "${upstream}")
    fi
    python3 -m espnet2_ext.recipes.mustc.presets "${opts[@]}"
}
for model in ${models}; do
    preset "${model}" "${expdir}/configs/${model}.yaml"
done

st_opts=(--ngpu "${ngpu}" --num_nodes "${num_nodes}" --nj "${nj}"
    --inference_nj "${inference_nj}" --gpu_inference "${gpu_inference}"
    --local_data_opts "--tgt_lang ${tgt_lang} --mustc_version ${mustc_version} ${suffix:+--suffix ${suffix}} ${local_data_opts}"
    --src_lang en --tgt_lang "${tgt_lang}" --train_set "${train_set}"
    --valid_set "${valid_set}" --test_sets "${test_sets}"
    --speed_perturb_factors "${speed_perturb_factors}"
    --expdir "${expdir}" --token_listdir "data/token_list${suffix}"
    --src_token_type bpe --src_nbpe "${src_nbpe}"
    --tgt_token_type bpe --tgt_nbpe "${tgt_nbpe}"
    --inference_config "${inference_config}")
train_data=${train_set}
[ -n "${speed_perturb_factors}" ] && train_data=${train_set}_sp

# --- Units: the k-means codebook of the `units` row, fitted once ---------------------
# On the formatted training wavs (st.sh's data stages first), on the upstream of the
# units config; fit_units skips it while the stamp beside the codebook records these
# arguments and inputs.
if [[ " ${models} " == *" units "* ]] && [ "${stop_stage}" -ge 10 ]; then
    if [ "${stage}" -le 4 ]; then
        ./st.sh "${st_opts[@]}" --stage "${stage}" --stop_stage 4 \
            --st_config "${expdir}/configs/units.yaml"
    fi
    # shellcheck disable=SC2086
    python3 -m espnet2_ext.stages.fit_units --wav_scp "dump/raw/${train_data}/wav.scp" \
        --config "${expdir}/configs/units.yaml" --layer "${units_layer}" \
        --num_units "${num_units}" --output "${units_codebook}" ${fit_units_args}
fi

# --- Training, decoding and scoring of each row -------------------------------------
asr_suffix=
[ -n "${pretrained_asr}" ] && asr_suffix=_asrinit
for model in ${models}; do
    tag=${model}${asr_suffix}_${tgt_lang}_${tokens}${suffix}
    ./st.sh "${st_opts[@]}" --stage "${stage}" --stop_stage "${stop_stage}" \
        --st_config "${expdir}/configs/${model}.yaml" --st_tag "${tag}" \
        --pretrained_asr "${pretrained_asr}" --pretrained_asr_keys "${pretrained_asr_keys}" \
        --st_args "${st_args}"
done

if [ "${stop_stage}" -ge 13 ]; then
    # Every experiment under ${expdir}, beside the paper's and ESPnet's numbers.
    # shellcheck disable=SC2086
    python3 -m espnet2_ext.recipes.mustc.results --exp_dir "${expdir}" \
        --sets ${test_sets} --out "${expdir}/results"
fi
