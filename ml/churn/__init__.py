"""Churn: features → time split → train (HistGradientBoosting + logistic baseline) → gate → score."""
