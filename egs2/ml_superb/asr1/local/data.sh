#!/usr/bin/env bash
# Stage 1 of egs2/ml_superb/asr1 (and egs2/mini_superb/asr1): the Kaldi data dirs of one
# track (wav.scp, text normalised as ML-SUPERB does, utt2spk, spk2utt, utt2lang) from the
# released layout, with espnet2_ext.recipes.ml_superb.data_prep (which names the file and line of
# any problem). Every option is passed on to it; the corpus root comes from db.sh.
#   local/data.sh --duration 10min --lid true --train_set train_x --dev_set dev_x ...
set -euo pipefail
. ./db.sh
if [ ! -d "${MLSUPERB}" ]; then
    cat >&2 <<MSG
$0: ML-SUPERB not found: no directory ${MLSUPERB}
This recipe does not download it. Get the release from
https://multilingual.superbbenchmark.org/ (the data folder with one directory per
dataset, <dataset>/<iso>/{wav,transcript_10min_train.txt,...}), then set MLSUPERB=<that
folder> in db.sh (or export MLSUPERB=...) and run again.
MSG
    exit 1
fi
python3 -m espnet2_ext.recipes.ml_superb.data_prep --root "${MLSUPERB}" --outdir data "$@"
