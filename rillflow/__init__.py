"""Rillflow: event-driven data and MLOps platform for Google Cloud, runnable locally."""
