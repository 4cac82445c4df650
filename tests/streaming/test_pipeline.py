"""pipeline.py and drain.py: options, the bounded drain (ack only on success), and the Flex Template files."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from apache_beam.options.pipeline_options import PipelineOptions

from streaming import pipeline as pl
from streaming.samples import encoded_batches, sample_events
from tests.support.streaming import T0

STREAMING = Path(pl.__file__).resolve().parent


def test_options_default_from_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "proj-x")
    o = pl.resolve(PipelineOptions([]))
    assert o.input_subscription == "projects/proj-x/subscriptions/app-events-beam"
    assert o.lake_uri == "gs://rillflow-lake"
    assert o.warehouse == "duckdb" and o.duckdb_path.endswith("rillflow.duckdb")
    assert o.allowed_lateness_s == 600
    assert not pl.is_bounded(PipelineOptions([]))

    o = pl.resolve(
        PipelineOptions(
            ["--input_topic", "t", "--deadletter_topic", "dlq", "--idle_timeout_s", "3", "--project", "p2"]
        )
    )
    assert (o.input_subscription, o.input_topic) == (None, "projects/p2/topics/t")
    assert o.deadletter_topic == "projects/p2/topics/dlq"
    assert pl.is_bounded(PipelineOptions(["--max_events", "10"]))


class FakeSubscriber:
    """Answers pull with prepared batches, then nothing; records acks and deadline changes."""

    def __init__(self, payloads: list[bytes], per_pull: int) -> None:
        self.pending = [
            SimpleNamespace(
                ack_id=f"ack-{i}",
                message=SimpleNamespace(
                    data=p, attributes={"i": str(i)}, message_id=f"m{i}", publish_time=T0
                ),
            )
            for i, p in enumerate(payloads)
        ]
        self.per_pull = per_pull
        self.acked: list[str] = []
        self.deadlines: dict[str, int] = {}

    def pull(self, subscription: str, max_messages: int, timeout: float) -> Any:
        take, self.pending = (
            self.pending[: min(max_messages, self.per_pull)],
            self.pending[min(max_messages, self.per_pull) :],
        )
        return SimpleNamespace(received_messages=take)

    def modify_ack_deadline(self, subscription: str, ack_ids: list[str], ack_deadline_seconds: int) -> None:
        self.deadlines.update(dict.fromkeys(ack_ids, ack_deadline_seconds))

    def acknowledge(self, subscription: str, ack_ids: list[str]) -> None:
        self.acked.extend(ack_ids)


def payloads(n_events: int = 400, size: int = 100) -> list[bytes]:
    return encoded_batches(sample_events(n_events, T0, 120), size)


def test_drain_stops_when_idle_and_acks_after_success(tmp_path: Path) -> None:
    client = FakeSubscriber(payloads(), per_pull=3)
    opts = PipelineOptions(
        [
            "--input_subscription", "projects/p/subscriptions/s",
            "--idle_timeout_s", "0.5",
            "--lake_uri", str(tmp_path / "lake"),
            "--duckdb_path", str(tmp_path / "wh.duckdb"),
            "--warehouse", "duckdb",
            "--agg_early_firing_s", "0",
        ]
    )  # fmt: skip
    report = pl.run_bounded(opts, client=client)
    assert report.state.endswith("DONE")
    assert (report.messages, report.events_pulled) == (4, 400)
    assert report.counters["lake_rows"] == 400
    assert sorted(client.acked) == [f"ack-{i}" for i in range(4)]
    assert set(client.deadlines.values()) == {600}  # leases held while the run went on


def test_drain_stops_at_max_events_and_releases_on_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = FakeSubscriber(payloads(), per_pull=1)
    opts = PipelineOptions(["--input_subscription", "projects/p/subscriptions/s", "--max_events", "150"])

    def boom(messages: Any, options: Any) -> Any:
        assert len(messages) == 2  # 100 + 100 events: whole messages, at least max_events
        raise RuntimeError("the run failed")

    monkeypatch.setattr(pl, "run_bounded_on", boom)
    with pytest.raises(RuntimeError):
        pl.run_bounded(opts, client=client)
    assert client.acked == []
    assert client.deadlines == {"ack-0": 0, "ack-1": 0}  # released for redelivery now
    assert len(client.pending) == 2  # the rest was never pulled


def test_bounded_mode_needs_a_local_runner_and_a_subscription() -> None:
    with pytest.raises(SystemExit):
        pl.run_bounded(PipelineOptions(["--input_topic", "projects/p/topics/t", "--idle_timeout_s", "1"]))
    with pytest.raises(SystemExit):
        pl.run_bounded(
            PipelineOptions(
                ["--input_subscription", "s", "--idle_timeout_s", "1", "--runner", "DataflowRunner"]
            )
        )


def test_flex_template_metadata_matches_the_options() -> None:
    meta = json.loads((STREAMING / "metadata.json").read_text())
    parser = argparse.ArgumentParser()
    pl.AppEventsOptions._add_argparse_args(parser)
    parser_args = {a.dest for a in parser._actions}
    beam_options = set(PipelineOptions([]).get_all_options())  # e.g. sdk_container_image
    names = {p["name"] for p in meta["parameters"]}
    assert names <= parser_args | beam_options, names - parser_args - beam_options
    assert "sdk_container_image" in beam_options
    assert {"input_subscription", "lake_uri", "deadletter_topic", "allowed_lateness_s"} <= names
    assert meta["streaming"] is True
    for p in meta["parameters"]:
        for rx in p.get("regexes", []):
            re.compile(rx)
    dockerfile = (STREAMING / "Dockerfile").read_text()
    py_file = re.search(r'FLEX_TEMPLATE_PYTHON_PY_FILE="\$\{WORKDIR\}/(\S+)"', dockerfile)
    assert py_file and (STREAMING.parent / py_file.group(1)).is_file()
    assert "python_template_launcher" in dockerfile and "/opt/apache/beam/boot" in dockerfile


def test_unbounded_graph_reads_pubsub_and_publishes_dead_letters() -> None:
    import apache_beam as beam

    opts = PipelineOptions(
        [
            "--project", "rillflow-test",
            "--input_subscription", "app-events-beam",
            "--deadletter_topic", "app-events-deadletter",
            "--lake_uri", "gs://lake-bucket",
            "--warehouse", "bigquery",
        ]
    )  # fmt: skip
    pl.resolve(opts)
    p = beam.Pipeline(options=opts)
    outputs = pl.build_unbounded(p, opts)
    assert {"lake_files", "merged", "dead_letters", "deadletter_files", "published"} <= set(outputs)
    labels = {node.full_label for node in _applied(p)}
    assert any(label.endswith("ReadPubSub") for label in labels)
    assert any("DeadLetterTopic" in label for label in labels)


def _applied(p: Any) -> list[Any]:
    found: list[Any] = []

    class Visitor:
        def enter_composite_transform(self, node: Any) -> None:
            found.append(node)

        def leave_composite_transform(self, node: Any) -> None:
            pass

        def visit_transform(self, node: Any) -> None:
            found.append(node)

        def visit_value(self, value: Any, producer: Any) -> None:
            pass

    p.visit(Visitor())
    return found
