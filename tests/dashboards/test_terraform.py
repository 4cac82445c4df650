"""terraform/dashboards*.tf: the app on Cloud Run with its own narrow identity, no public access, and
Looker Studio Linking API URLs over exactly the views each page of the app reads."""

from __future__ import annotations

import re

from dashboards.pages import PAGES
from rillflow.deploy.package import IMAGES
from tests.terraform import hcl

SERVICE = "google_cloud_run_v2_service"


def _dashboards_text() -> str:
    return "\n".join(p.read_text() for p in sorted(hcl.TF.glob("dashboards*.tf")))


def test_the_service_runs_the_dashboards_image_as_its_own_account() -> None:
    service = hcl.resource(SERVICE, "dashboards")
    template = service["template"][0]
    assert template["service_account"] == "${google_service_account.dashboards.email}"
    container = template["containers"][0]
    assert container["image"] == '${local.images["dashboards"]}'
    spec = next(i for i in IMAGES if i.name == "dashboards")
    assert hcl.locals_()["image_repositories"]["dashboards"] == spec.repository
    assert spec.dockerfile == "dashboards/Dockerfile"
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["RILLFLOW_ENV"] == "cloud" and env["GOOGLE_CLOUD_PROJECT"] == "${var.project_id}"
    assert service["location"] == "${var.region}"
    assert container["startup_probe"][0]["http_get"][0]["path"] == "/healthz"


def test_no_public_access() -> None:
    text = _dashboards_text()
    assert "allUsers" not in text and "allAuthenticatedUsers" not in text
    invokers = hcl.resource("google_cloud_run_v2_service_iam_member", "dashboards_invokers")
    assert invokers["role"] == "roles/run.invoker" and invokers["member"] == "${each.value}"
    assert "var.dashboards_invokers" in invokers["for_each"]
    variable = hcl.variables()["dashboards_invokers"]
    condition = variable["validation"][0]["condition"]
    assert "user|group|serviceAccount|domain" in condition


def test_reads_bi_only_and_runs_jobs_in_the_project() -> None:
    member = "${google_service_account.dashboards.member}"
    email = "${google_service_account.dashboards.email}"
    dataset_grants = [
        b for b in hcl.of_type("google_bigquery_dataset_access").values() if b.get("user_by_email") == email
    ]
    assert dataset_grants == [
        {
            "dataset_id": '${google_bigquery_dataset.layer["bi"].dataset_id}',
            "role": "READER",
            "user_by_email": email,
        }
    ]
    project_roles = {
        b["role"] for b in hcl.of_type("google_project_iam_member").values() if b["member"] == member
    }
    assert project_roles == {"roles/bigquery.jobUser", "roles/bigquery.readSessionUser"}


def test_the_datasets_the_views_read_authorise_the_views_of_bi() -> None:
    """A reader of `bi` alone queries the views: marts, ml and streaming authorise bi's views, and
    no dataset grant is an IAM member resource (it would rewrite the access list, dropping that)."""
    access = hcl.resource("google_bigquery_dataset_access", "bi_views")
    assert access["for_each"] == "${toset([marts, ml, streaming])}"  # as python-hcl2 renders it
    authorised = access["dataset"][0]["dataset"][0]
    assert authorised["dataset_id"] == '${google_bigquery_dataset.layer["bi"].dataset_id}'
    assert access["dataset"][0]["target_types"] == ["VIEWS"]
    assert not hcl.of_type("google_bigquery_dataset_iam_member")
    assert _datasets_the_bi_views_read() == {"marts", "ml", "streaming"}


def _datasets_the_bi_views_read() -> set[str]:
    """The schemas of every ``ref(...)`` in dataform/definitions/bi (a model's own ``schema:``)."""
    definitions = hcl.TF.parent / "dataform" / "definitions"
    schema_of = {
        path.stem: match.group(1)
        for path in definitions.rglob("*.sqlx")
        if (match := re.search(r'schema:\s*"(\w+)"', path.read_text()))
    }
    read: set[str] = set()
    for path in (definitions / "bi").glob("*.sqlx"):
        for schema, name in re.findall(r'ref\((?:"(\w+)",\s*)?"(\w+)"\)', path.read_text()):
            read.add(schema or schema_of[name])
    return read


def test_looker_studio_urls_use_the_linking_api_over_the_pages_views() -> None:
    locals_ = hcl.locals_()
    reports = locals_["looker_studio_reports"]
    assert reports["pre_ml"]["views"] == [p.view for p in PAGES["history"].panels]
    assert reports["post_ml"]["views"] == [p.view for p in PAGES["predictions"].panels]
    url = hcl.text(locals_["looker_studio_urls"])
    assert "https://lookerstudio.google.com/reporting/create?" in url
    for parameter in (
        "c.reportId=",
        "r.reportName=",
        "connector=bigQuery",
        "type=TABLE",
        "projectId=",
        "datasetId=",
        "tableId=",
    ):
        assert parameter in url, parameter
    assert re.search(r"ds\.ds\$\{i\}\.connector", url), "data sources are aliased ds0, ds1, …"
    outputs = {k for doc in [hcl.load("dashboards.tf")] for o in doc.get("output", []) for k in o}
    assert outputs == {"dashboards_url", "looker_studio_report_urls"}
