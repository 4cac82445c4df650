"""Synthetic but realistic data for Rillflow's four flows, deterministic per seed.

- :mod:`app_events`: app-store events from a non-homogeneous Poisson process over countries.
- :mod:`sales`: customers with latent churn, and their daily Firestore order documents.
- :mod:`clickstream`: website sessions of those customers and of anonymous visitors.
- :mod:`startups`: an evolving startup population served by :mod:`harness.startups_api`.
"""
