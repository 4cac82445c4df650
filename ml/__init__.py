"""Rillflow MLOps: churn and app-activity forecasting pipelines (KFP v2), model registry and serving."""
