"""Local BigQuery for the parity tier: bqemulator (REST + gRPC on DuckDB) in its own venv."""

from localgcp.services.bigquery.errors import BigQueryServiceError
from localgcp.services.bigquery.provider import (
    EMULATOR_JOB_RETRY,
    EMULATOR_RETRY,
    BigQueryService,
    tool_python,
)

__all__ = ["EMULATOR_JOB_RETRY", "EMULATOR_RETRY", "BigQueryService", "BigQueryServiceError", "tool_python"]
