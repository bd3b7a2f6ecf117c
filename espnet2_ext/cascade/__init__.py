"""The exporter cascade (Chelba & Schalkwyk, arXiv 2407.17605): an ASR model whose
CTC 1-best is exported, one vector per token, into a frozen text MT model in place of
the MT's token embeddings, so the MT loss reaches the ASR encoder."""
