"""The harness that runs Rillflow on the local cloud (``localgcp``).

It is Rillflow's, not the cloud's: the stack wiring (which services, which triggers, which
workflows and functions), the bootstrap of buckets, topics and tables, the replay of days on a
virtual clock and the bulk backfill, the reconciliation, the Workflows connectors that stand in
for Dataform, Dataflow and Vertex AI Pipelines locally (``connectors/``, ``dataform/``) and the
fake third-party startups API. Nothing here is deployed; ``localgcp`` imports nothing from here.
"""
