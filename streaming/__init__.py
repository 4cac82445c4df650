"""Rillflow's streaming pipeline: app-store events from Pub/Sub (Avro batches) through Apache Beam
into the Parquet lake and the warehouse. Deployed as a Dataflow Flex Template (``metadata.json``,
``Dockerfile``); run locally with the DirectRunner (``python -m streaming.pipeline --help``)."""
