# The embedded corpus in ML-SUPERB's released layout, built by run.sh's first step
# (espnet2_ext.recipes.ml_superb.mini_corpus) and read by local/data.sh like the real release.
MLSUPERB=${MLSUPERB:-data/mini_superb}
