"""ML-SUPERB (``egs2/ml_superb/asr1``, ``egs2/mini_superb/asr1``): data prep, a fake
corpus tree for tests, the embedded mini corpus, the benchmark matrix, its driver and
its report."""
