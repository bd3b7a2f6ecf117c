#!/usr/bin/env bash
# Stage 1 of egs2/mustc/st1: Kaldi-style data dirs data/<set><suffix>.en-<tgt> (wav.scp
# of the talk wavs, segments, utt2spk, spk2utt, text.<case>.<lang>) from the released
# MuST-C tree, with espnet2_ext.recipes.mustc.data_prep (which checks the tree and names the file
# and line of any problem). The corpus root comes from db.sh.
set -euo pipefail

tgt_lang=de         # de, fr, es (v1) or de (v2)
mustc_version=1     # 1 or 2: which db.sh root (MUST_C or MUST_C_V2)
sets="train dev tst-COMMON tst-HE"
suffix=             # appended to the set names (run.sh: _v2 for version 2)
help_message="Usage: $0 [--tgt_lang de|fr|es] [--mustc_version 1|2]
$(utils/print_options.sh "${BASH_SOURCE[0]}")"
. utils/parse_options.sh
. ./db.sh

case ${mustc_version} in
    1) root=${MUST_C} ;;
    2) root=${MUST_C_V2} ;;
    *) echo "$0: --mustc_version is 1 or 2, not '${mustc_version}'" >&2; exit 1 ;;
esac
if [ ! -d "${root}/en-${tgt_lang}/data" ]; then
    var=MUST_C; [ "${mustc_version}" = 2 ] && var=MUST_C_V2
    cat >&2 <<MSG
$0: MuST-C v${mustc_version} En-${tgt_lang^} not found: no directory ${root}/en-${tgt_lang}/data
MuST-C cannot be downloaded by this recipe. To obtain it:
  1. register and download at https://ict.fbk.eu/must-c/ (CC BY-NC-ND 4.0):
     MuST-C v${mustc_version}.0, English-${tgt_lang^} (one tar.gz per language pair);
  2. extract it so that <root>/en-${tgt_lang}/data/{train,dev,tst-COMMON,tst-HE} exist;
  3. set ${var}=<root> in db.sh (or export ${var}=<root>) and run again.
MSG
    exit 1
fi

# The module writes data/<set>.en-<tgt>; with a suffix, into a scratch dir first.
out=data
[ -z "${suffix}" ] || out=data/.prep${suffix}
# shellcheck disable=SC2086
python3 -m espnet2_ext.recipes.mustc.data_prep --mustc_root "${root}" --tgt_lang "${tgt_lang}" \
    --sets ${sets} --outdir "${out}"
if [ -n "${suffix}" ]; then
    for set in ${sets}; do
        rm -rf "data/${set}${suffix}.en-${tgt_lang}"
        mv "${out}/${set}.en-${tgt_lang}" "data/${set}${suffix}.en-${tgt_lang}"
    done
    rmdir "${out}" 2>/dev/null || true
fi
