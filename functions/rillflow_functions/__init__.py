"""Plain, tested logic beneath the thin Cloud Functions entry points in ``functions/main.py``.

The package is imported as a top-level name (``rillflow_functions``): in Cloud Functions the
``functions/`` folder is the source root, and functions-framework puts the folder of ``main.py``
on ``sys.path`` locally, so both load the very same modules (and the same client seam).
"""
