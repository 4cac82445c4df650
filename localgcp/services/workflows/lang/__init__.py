"""The Workflows language: parsing (``parser``, ``expr_parser``), the definition model and its
deploy-time validation (``model``, ``validate``), expression evaluation and variable scopes
(``expressions``, ``scope``), and execution (``control`` for steps, ``runtime`` for an execution)."""
