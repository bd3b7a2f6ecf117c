"""Scoring: ST (sacreBLEU BLEU/chrF), ASR (WER/CER) and ML-SUPERB (CER, LID), with
the text normalisation each applies; each module is also a ``python -m`` command."""
