"""Tested Python behind the stages of the recipe drivers (egs2/TEMPLATE)."""
