"""localgcp: a local Google Cloud that the official client libraries talk to unchanged.

Each emulated service is a package under ``localgcp/services/<svc>/`` with the same file
roles (``provider.py`` speaks the wire protocol, ``store.py`` keeps durable state,
``errors.py`` maps failures to the service's status codes); ``services/registry.py``
wires them; everything binds to 127.0.0.1 and keeps state under ``RILLFLOW_HOME``.
"""
