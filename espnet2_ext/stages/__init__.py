"""The generic stages the recipe drivers (``egs2/TEMPLATE``) call: data formatting,
filtering, speed perturbation, tokens, job backends, progress, config composition,
packing, ASR initialisation, the results report and its provenance."""
