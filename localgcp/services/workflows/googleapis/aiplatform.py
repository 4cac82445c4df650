"""``googleapis.aiplatform.v1.projects.locations.pipelineJobs.{create,get,cancel,list}`` against the
local Vertex AI (``localgcp.services.aiplatform``'s PipelineService).

Arguments and answers are the REST JSON of the real connector: ``create(parent, pipelineJobId,
body)`` with a camelCase PipelineJob ``body`` (``templateUri``, ``runtimeConfig.parameterValues``,
…), ``get(name)``, ``cancel(name)``, ``list(parent, filter, orderBy, pageSize, pageToken)``; the
answer is the PipelineJob (or the list response) as ``json_format.MessageToDict`` writes it. The
``region`` argument (the connector's regional endpoint) is accepted and not needed here.

The calls go through the official ``google.cloud.aiplatform_v1.PipelineServiceClient`` over an
insecure gRPC channel to ``AIPLATFORM_EMULATOR_HOST`` (``127.0.0.1:PORT``), read at call time. The
methods are always registered; without that variable a call raises ``ConnectionFailedError``
saying so. An error of the API becomes the ``HttpError`` a connector raises: ``code`` the HTTP
status of the gRPC status (409 for ALREADY_EXISTS, 404, 400, …), ``message`` the API's message,
``body`` the REST error body.
"""

from __future__ import annotations

import os
from typing import Any

import grpc
from google.api_core import exceptions
from google.protobuf import json_format

from localgcp.services.workflows import errors

PREFIX = "googleapis.aiplatform.v1.projects.locations.pipelineJobs"
ENV_VAR = "AIPLATFORM_EMULATOR_HOST"
TIMEOUT_S = 60.0


def _call(method: str, request: Any) -> Any:
    """``PipelineServiceClient.<method>(request)`` on a channel of its own to the local service."""
    address = os.environ.get(ENV_VAR, "").removeprefix("http://")
    if not address:
        raise errors.make(
            "ConnectionFailedError",
            f"{PREFIX}.{method.split('_')[0]}: {ENV_VAR} is not set, so there is no local Vertex AI to call "
            "(start localgcp's aiplatform service and export its address).",
        )
    from google.cloud.aiplatform_v1 import PipelineServiceClient
    from google.cloud.aiplatform_v1.services.pipeline_service.transports import PipelineServiceGrpcTransport

    with grpc.insecure_channel(address) as channel:
        client = PipelineServiceClient(transport=PipelineServiceGrpcTransport(channel=channel))
        try:
            return getattr(client, method)(request=request, timeout=TIMEOUT_S)
        except exceptions.GoogleAPICallError as exc:
            code = int(exc.code or 500)
            status = exc.grpc_status_code.name if exc.grpc_status_code is not None else "UNKNOWN"
            body = {"error": {"code": code, "message": exc.message, "status": status}}
            raise errors.make("HttpError", str(exc.message), code=code, body=body, headers={}) from None


def _types() -> Any:
    # imported when first called: google.cloud.aiplatform_v1 takes seconds to import, which every
    # start of a Workflows service would pay otherwise
    from google.cloud.aiplatform_v1 import types

    return types


def _job_json(job: Any) -> dict[str, Any]:
    t = _types()
    return json_format.MessageToDict(t.PipelineJob.pb(job))


def create(args: dict[str, Any]) -> dict[str, Any]:
    t = _types()
    job = t.PipelineJob.pb()()
    try:
        json_format.ParseDict(args.get("body") or {}, job)
    except json_format.ParseError as exc:
        raise errors.make("HttpError", f"Invalid PipelineJob body: {exc}", code=400) from None
    request = t.CreatePipelineJobRequest(
        parent=args["parent"],
        pipeline_job=t.PipelineJob.wrap(job),
        pipeline_job_id=args.get("pipelineJobId", ""),
    )
    return _job_json(_call("create_pipeline_job", request))


def get(args: dict[str, Any]) -> dict[str, Any]:
    t = _types()
    return _job_json(_call("get_pipeline_job", t.GetPipelineJobRequest(name=args["name"])))


def cancel(args: dict[str, Any]) -> dict[str, Any]:
    t = _types()
    _call("cancel_pipeline_job", t.CancelPipelineJobRequest(name=args["name"]))
    return {}


def list_jobs(args: dict[str, Any]) -> dict[str, Any]:
    """One page, as the REST ``list`` answers (``pipelineJobs``, ``nextPageToken``)."""
    t = _types()
    request = t.ListPipelineJobsRequest(
        parent=args["parent"],
        filter=args.get("filter", ""),
        order_by=args.get("orderBy", ""),
        page_size=int(args.get("pageSize", 0)),
        page_token=args.get("pageToken", ""),
    )
    pager = _call("list_pipeline_jobs", request)
    response = t.ListPipelineJobsResponse.pb(next(iter(pager.pages)))  # the page already fetched
    return json_format.MessageToDict(response)
