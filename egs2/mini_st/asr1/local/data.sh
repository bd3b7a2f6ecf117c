#!/usr/bin/env bash
# Stage 1 of mini_st/asr1: the corpus and the random-weight SSL upstream of mini_st/st1,
# built by st1's local/data.sh with the same options
# (`local/data.sh --help`), so the ASR and ST recipes train and test on the same
# utterances. The English transcript
# (text.en) becomes data/{train,dev,test}/text; the translations are left out.
set -euo pipefail

st1_data=$(readlink -f "$(dirname "$(readlink -f "$0")")/../../st1/local/data.sh")
case " $* " in *" --help "* | *" -h "*) exec "${st1_data}" --help ;; esac

"${st1_data}" "$@"
for split in train dev test; do
    mv -f "data/${split}/text.en" "data/${split}/text"
    rm -f "data/${split}"/text.*
done
