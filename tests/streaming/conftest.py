"""Fixtures for the streaming tests: streaming pipeline options (helpers: ``tests.support.streaming``)."""

from __future__ import annotations

import pytest
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions


@pytest.fixture
def streaming_options() -> PipelineOptions:
    opts = PipelineOptions(["--runner", "BundleBasedDirectRunner"])
    opts.view_as(StandardOptions).streaming = True
    return opts
