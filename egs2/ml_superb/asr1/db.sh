# Where the ML-SUPERB release lives (sourced by local/data.sh): the directory holding
# the datasets, <root>/<dataset>/<iso>/{wav/,transcript_*.txt} (ML-SUPERB's
# "eighth_version" folder, from https://multilingual.superbbenchmark.org/, CC licences
# per source). It is not downloaded by this recipe.
MLSUPERB=${MLSUPERB:-downloads/ml_superb}
