"""KFP v2 pipelines (compiled to YAML for Vertex AI Pipelines; run locally with kfp.local)."""
