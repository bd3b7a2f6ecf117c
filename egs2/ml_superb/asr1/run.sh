#!/usr/bin/env bash
# ML-SUPERB benchmark (Shi et al. 2023) on our asr.sh driver: a matrix of frontends x
# learning rates x tracks, each cell a normal recipe run (resumable, skipped when done,
# on any cmd.sh backend), and one report (exp/superb/report.{md,csv,json,*.png}).
# The model and training are the protocol's (conf/train_asr.yaml); only the frontend
# and the learning rate vary. See espnet2_ext/recipes/ml_superb/bench.py.
#
#   ./run.sh                                   # multi_lid_10min: fbank/weighted_sum/hconv
#   ./run.sh --tracks "mono_eng_10min multi_lid_1h" --lrs "1e-4 1e-3" --ngpu 1
#   ./run.sh --frontends "fbank hconv chconv_2up gsgn" --upstreams "hubert wavlm_base_plus"
set -euo pipefail

tracks=multi_lid_10min      # mono_<iso>_{10min,1h}, multi_{10min,1h}, multi_lid_{10min,1h}
frontends="fbank weighted_sum hconv"  # + concat hconv_2up chconv_2up gsgn
lrs=1e-4                    # learning rates (the protocol's is 1e-4)
upstreams=hubert_large_ll60k  # s3prl names or converted checkpoints (*.pt)
asr_config=conf/train_asr.yaml
inference_config=conf/decode_asr.yaml
max_epoch=                  # override the protocol's 30 epochs
parallel=1                  # cells run at once (each through cmd.sh's backends)
ngpu=1
nj=16
inference_nj=8
gpu_inference=true
asr_opts=                   # further options of asr.sh
help_message="Usage: $0 [--tracks \"...\"] [--frontends \"...\"] [--lrs \"...\"] [--upstreams \"...\"]
$(utils/print_options.sh "${BASH_SOURCE[0]}")"

. utils/parse_options.sh
. ./path.sh

# shellcheck disable=SC2086
python3 -m espnet2_ext.recipes.ml_superb.bench --tracks ${tracks} --frontends ${frontends} \
    --lrs ${lrs} --upstreams ${upstreams} --model_config "${asr_config}" \
    --inference_config "${inference_config}" ${max_epoch:+--max_epoch ${max_epoch}} \
    --parallel "${parallel}" \
    --asr_opts "--ngpu ${ngpu} --nj ${nj} --inference_nj ${inference_nj} --gpu_inference ${gpu_inference} ${asr_opts}"
