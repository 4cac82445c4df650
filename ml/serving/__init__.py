"""The prediction server (Vertex AI custom-container contract) and the endpoint deploy helper."""
