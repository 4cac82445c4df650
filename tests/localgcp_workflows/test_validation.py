"""Gap 8 of issue 16: what the real service refuses at deploy time is a ``DefinitionError`` at
``parse_workflow`` / ``load_workflow`` / CreateExecution here, naming the step, instead of a
failure at run time (or none)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import grpc
import pytest
from google.api_core import exceptions
from google.cloud.workflows.executions_v1 import Execution, ExecutionsClient

from localgcp.events import NullSink
from localgcp.services.base import ServiceContext
from localgcp.services.workflows import ConnectorRegistry, DefinitionError, load_workflow, parse_workflow
from localgcp.services.workflows.service import WorkflowsService
from rillflow.workflows_client import executions_client


def parse(source: str, connectors: ConnectorRegistry | None = None) -> None:
    parse_workflow(textwrap.dedent(source), connectors)


# --- next to a missing step ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "source, step, target",
    [
        ("- a:\n    next: nowhere\n", "a", "nowhere"),
        (
            """
            - check:
                switch:
                  - condition: true
                    next: missing_step
            """,
            "check",
            "missing_step",
        ),
        (
            """
            - outer:
                steps:
                  - inner:
                      next: into_other_block
            - other:
                steps:
                  - into_other_block:
                      return: 1
            """,
            "inner",
            "into_other_block",
        ),
        (
            """
            - after:
                assign:
                  - x: 1
            - fan:
                parallel:
                  branches:
                    - b:
                        steps:
                          - leave:
                              next: after
            """,
            "leave",
            "after",
        ),
    ],
)
def test_next_to_a_missing_or_unreachable_step(source: str, step: str, target: str) -> None:
    with pytest.raises(DefinitionError, match=f"step '{step}' in main: next: .*'{target}'"):
        parse(source)


def test_next_to_outer_steps_and_keywords_deploys() -> None:
    parse(
        """
        - loop:
            for:
              value: v
              in: [1, 2]
              steps:
                - maybe:
                    switch:
                      - condition: ${v == 1}
                        next: continue
                      - condition: ${v == 2}
                        next: done
                - never:
                    next: break
        - done:
            next: end
        """
    )


# --- unknown functions in expressions -----------------------------------------------------------
@pytest.mark.parametrize(
    "expression, why",
    [
        ("text.no_such_fn(x)", "unknown function 'text.no_such_fn'"),
        ("lenn(x)", "unknown function 'lenn'"),
        ("[1, nope.fn(2)]", "unknown function 'nope.fn'"),
        ('http.get("http://x")', "http.get is a blocking call"),
        ('sys.log("x")', "sys.log is a blocking call"),
        ("1 +", "ParseError"),
    ],
)
def test_unknown_or_blocking_functions_in_expressions(expression: str, why: str) -> None:
    source = f"- init:\n    assign:\n      - x: 1\n- use:\n    return: '${{{expression}}}'\n"
    with pytest.raises(DefinitionError, match=f"step 'use' in main: .*{why}"):
        parse_workflow(source)


def test_expressions_everywhere_are_checked() -> None:
    with pytest.raises(DefinitionError, match="step 'c'.*'nope'"):
        parse("- c:\n    call: sys.log\n    args:\n      text: ${nope(1)}\n")
    with pytest.raises(DefinitionError, match="step 'm'.*'bad.key'"):
        parse("- m:\n    assign:\n      - m:\n          ${bad.key()}: 1\n")
    with pytest.raises(DefinitionError, match="step 's'.*'unknown'"):
        parse("- s:\n    switch:\n      - condition: ${unknown()}\n        next: end\n")


def test_subworkflows_and_library_functions_in_expressions_deploy() -> None:
    parse(
        """
        main:
          steps:
            - ok:
                return: ${[double_it(2), text.url_encode("a b"), if(true, 1, 2), hash.compute_checksum(text.encode("x"), "MD5")]}
        double_it:
          params: [n]
          steps:
            - r:
                return: ${n * 2}
        """
    )


# --- connectors ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "call, why",
    [
        ("googleapis.bigquery.v2.tables.gett", "bigquery.v2 has no connector method 'tables.gett'"),
        ("googleapis.bigquery.v9.tables.get", "no Workflows connector for bigquery.v9.*bigquery.v2"),
        ("googleapis.nosuchapi.v1.things.get", "no Workflows connector for nosuchapi.v1"),
        ("googleapis.pubsub", "not of the form"),
    ],
)
def test_unknown_connector_methods(call: str, why: str) -> None:
    with pytest.raises(DefinitionError, match=f"step 'c' in main: unknown connector .*{why}"):
        parse(f"- c:\n    call: {call}\n    args: {{}}\n")


def test_published_registered_and_expression_connectors_deploy() -> None:
    from localgcp.services.workflows.catalog import check_connector

    for name in (
        "googleapis.bigquery.v2.tables.get",
        "googleapis.secretmanager.v1.projects.secrets.versions.accessString",
        "googleapis.workflowexecutions.v1.projects.locations.workflows.executions.run",
        "googleapis.container.v1.projects.zones.clusters.create",
    ):
        assert check_connector(name) is None, name
    registry = ConnectorRegistry()
    registry.register("googleapis.example.v1.echo", lambda args: args)
    parse("- c:\n    call: googleapis.example.v1.echo\n    args: {}\n", registry)
    with pytest.raises(DefinitionError, match="no Workflows connector for example.v1"):
        parse("- c:\n    call: googleapis.example.v1.echo\n    args: {}\n")
    parse('- e:\n    return: ${googleapis.secretmanager.v1.projects.secrets.versions.accessString("s")}\n')
    with pytest.raises(DefinitionError, match="step 'e'.*no connector method 'projects.secrets.nope'"):
        parse('- e:\n    return: ${googleapis.secretmanager.v1.projects.secrets.nope("s")}\n')


def test_gke_connector_deploys() -> None:
    parse(
        """
        - job:
            call: gke.create_job
            args:
              cluster_id: c
              location: us-central1
              job: {metadata: {name: pi}}
            result: job
        - wait:
            call: gke.await_job
            args: {cluster_id: c, job_name: pi, location: us-central1}
        """
    )


# --- parallel branches and shared variables -----------------------------------------------------
UNSHARED = [
    (
        "assign",
        """
        - init:
            assign:
              - total: 0
        - fan:
            parallel:
              branches:
                - b1:
                    steps:
                      - add:
                          assign:
                            - total: ${total + 1}
        """,
        "add",
        "total",
    ),
    (
        "call result in a nested loop of a parallel for",
        """
        - init:
            assign:
              - last: null
        - fan:
            parallel:
              for:
                value: n
                in: [1, 2]
                steps:
                  - inner:
                      for:
                        value: m
                        in: [3]
                        steps:
                          - fetch:
                              call: sys.now
                              result: last
        """,
        "fetch",
        "last",
    ),
    (
        "map element, in a subworkflow's parameter",
        """
        main:
          steps:
            - go:
                call: work
                args: {acc: {}}
        work:
          params: [acc]
          steps:
            - fan:
                parallel:
                  shared: [other]
                  branches:
                    - b:
                        steps:
                          - put:
                              assign:
                                - acc["k"]: 1
        """,
        "put",
        "acc",
    ),
    (
        "except as",
        """
        - init:
            assign:
              - e: null
        - fan:
            parallel:
              branches:
                - b:
                    steps:
                      - guarded:
                          try:
                            steps:
                              - boom:
                                  raise: x
                          except:
                            as: e
                            steps:
                              - noop:
                                  next: continue
        """,
        "guarded",
        "e",
    ),
]


@pytest.mark.parametrize("what, source, step, variable", UNSHARED, ids=[u[0] for u in UNSHARED])
def test_parallel_branch_assigning_an_unshared_variable(
    what: str, source: str, step: str, variable: str
) -> None:
    with pytest.raises(DefinitionError, match=f"step '{step}' in .*assigns '{variable}'.*shared"):
        parse(source)


def test_shared_and_branch_local_variables_deploy() -> None:
    parse(
        """
        - init:
            assign:
              - results: {}
        - fan:
            parallel:
              shared: [results]
              branches:
                - b1:
                    steps:
                      - local:
                          assign:
                            - temp: 1
                            - temp: ${temp + 1}
                            - results.b1: ${temp}
                - b2:
                    steps:
                      - loop:
                          for:
                            value: v
                            in: [1, 2]
                            steps:
                              - inner:
                                  assign:
                                    - v2: ${v}
        - later:
            assign:
              - temp: defined after the parallel step, so the branches' temp was theirs
        """
    )


# --- load_workflow and the service --------------------------------------------------------------
def test_load_workflow_and_create_execution_reject_invalid_definitions(tmp_path: Path) -> None:
    wf_dir = tmp_path / "workflows"
    wf_dir.mkdir()
    (wf_dir / "bad.yaml").write_text("- a:\n    call: googleapis.bigquery.v2.tables.gett\n    args: {}\n")
    with pytest.raises(DefinitionError, match="step 'a'"):
        load_workflow(wf_dir / "bad.yaml")
    ctx = ServiceContext("127.0.0.1", 0, tmp_path / "data", "proj-v", NullSink())
    service = WorkflowsService(ctx, wf_dir, location="europe-west1", time_scale=0.0)
    service.start()
    try:
        client: ExecutionsClient = executions_client(service.address)
        parent = "projects/proj-v/locations/europe-west1/workflows/bad"
        with pytest.raises(exceptions.FailedPrecondition) as caught:
            client.create_execution(parent=parent, execution=Execution())
        assert caught.value.grpc_status_code == grpc.StatusCode.FAILED_PRECONDITION
        assert "step 'a'" in caught.value.message
        assert "tables.gett" in caught.value.message
    finally:
        service.stop()
