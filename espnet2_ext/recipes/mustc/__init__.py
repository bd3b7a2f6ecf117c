"""MuST-C speech translation (``egs2/mustc/st1``): data prep, a fake corpus tree for
tests, the paper's row presets, the results table and the published numbers."""
