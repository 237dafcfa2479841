"""Probabilistic customer-base models: BG/NBD for purchases, Gamma-Gamma for spend.

Pure computation (numpy and scipy, no Django): fits on compressed per-customer summaries,
refusal rules, and vectorized per-customer predictions. See docs/PREDICTIONS.md.
"""
