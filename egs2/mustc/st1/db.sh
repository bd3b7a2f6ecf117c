# Where the corpora of this recipe live (sourced by local/data.sh). MuST-C cannot be
# downloaded by a script: it is distributed by FBK after registration, under
# CC BY-NC-ND 4.0 (https://ict.fbk.eu/must-c/). Each root is the directory that holds
# the extracted en-<tgt>/ directories (en-de/data/train/wav/ted_1.wav, ...).
MUST_C=${MUST_C:-downloads/mustc_v1}     # v1: en-de, en-fr, en-es, ...
MUST_C_V2=${MUST_C_V2:-downloads/mustc_v2}  # v2: en-de
