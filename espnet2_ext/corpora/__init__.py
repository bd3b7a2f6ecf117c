"""Corpus builders for the embedded ``mini_*`` recipes (built on the machine itself)."""
