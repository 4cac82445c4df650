"""Local providers for the Workflows connectors the project's YAML calls.

Each module turns a ``googleapis.<api>...`` connector call into the same work the real API
does, against the local services, and answers in the real API's response shape.
``register_all`` wires them into a Workflows :class:`ConnectorRegistry`.
"""
