"""Trainer-side glue: the epoch-aware trainer, AMP loss-scale following, stats."""
