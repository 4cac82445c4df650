"""Which connector calls exist, so a workflow naming one that does not is rejected at deploy time
as the real service rejects it.

A connector call is ``googleapis.<api>.<version>.<resource path>.<method>``: the API's
discovery-document resources joined by dots, then the method. ``connector_catalog.json`` holds,
for every API version in ``CONNECTOR_APIS``, its resource paths and their methods, each written
``method(param,...)`` with its required parameters in order and ``+body`` when it takes a request
body: that order is how positional arguments bind when a connector is called inside an
expression (``${googleapis.secretmanager.v1.projects.secrets.versions.accessString(id, "1", p)}``,
as Google's Secret Manager connector sample does). It is data read from Google's published
discovery documents and is regenerated with

    python -m localgcp.services.workflows.catalog DISCOVERY_DIR

where DISCOVERY_DIR holds ``<api>.<version>.json`` discovery documents (the google-api-python-client
wheel ships them under ``googleapiclient/discovery_cache/documents``). ``HELPERS`` adds the few
methods that exist only as Workflows connector helpers. The Kubernetes API connector (``gke.*``)
is a standard-library module (``stdlib_more``), not a ``googleapis`` connector.
"""

from __future__ import annotations

import json
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

CATALOG_FILE = Path(__file__).with_name("connector_catalog.json")

_APIS = (
    "accessapproval.v1 aiplatform.v1 aiplatform.v1beta1 alloydb.v1 apikeys.v2 appengine.v1 "
    "artifactregistry.v1 baremetalsolution.v2 batch.v1 beyondcorp.v1 bigquery.v2 bigqueryconnection.v1 "
    "bigquerydatapolicy.v1 bigquerydatatransfer.v1 bigqueryreservation.v1 bigtableadmin.v2 "
    "binaryauthorization.v1 certificatemanager.v1 cloudasset.v1 cloudbilling.v1 cloudbuild.v1 "
    "cloudbuild.v2 clouddeploy.v1 cloudfunctions.v1 cloudfunctions.v2 cloudidentity.v1 cloudkms.v1 "
    "cloudresourcemanager.v1 cloudresourcemanager.v2 cloudresourcemanager.v3 cloudscheduler.v1 "
    "cloudtasks.v2 cloudtrace.v2 composer.v1 compute.v1 compute.beta connectors.v1 connectors.v2 "
    "container.v1 containeranalysis.v1 datacatalog.v1 dataflow.v1b3 dataform.v1beta1 datafusion.v1 "
    "datalineage.v1 datamigration.v1 dataplex.v1 dataproc.v1 datastore.v1 datastream.v1 "
    "deploymentmanager.v2 dialogflow.v2 dialogflow.v3 discoveryengine.v1 dlp.v2 dns.v1 documentai.v1 "
    "domains.v1 essentialcontacts.v1 eventarc.v1 file.v1 firebasedatabase.v1beta firestore.v1 forms.v1 "
    "gkebackup.v1 gkehub.v1 healthcare.v1 iam.v1 iam.v2 iamcredentials.v1 iap.v1 ids.v1 integrations.v1 "
    "language.v1 language.v2 lifesciences.v2beta logging.v2 looker.v1 managedidentities.v1 memcache.v1 "
    "metastore.v1 ml.v1 monitoring.v1 monitoring.v3 networkconnectivity.v1 networkmanagement.v1 "
    "networksecurity.v1 networkservices.v1 notebooks.v1 notebooks.v2 orgpolicy.v2 osconfig.v1 "
    "oslogin.v1 policysimulator.v1 policytroubleshooter.v1 privateca.v1 pubsub.v1 pubsublite.v1 "
    "recaptchaenterprise.v1 recommender.v1 redis.v1 retail.v2 run.v1 run.v2 secretmanager.v1 "
    "securitycenter.v1 servicedirectory.v1 servicemanagement.v1 servicenetworking.v1 serviceusage.v1 "
    "sheets.v4 spanner.v1 speech.v1 sqladmin.v1 sqladmin.v1beta4 storage.v1 storagetransfer.v1 "
    "texttospeech.v1 tpu.v1 tpu.v2 transcoder.v1 translate.v2 translate.v3 translate.v3beta1 "
    "videointelligence.v1 vision.v1 vmmigration.v1 vmwareengine.v1 vpcaccess.v1 workflowexecutions.v1 "
    "workflowexecutions.v1beta workflows.v1 workstations.v1"
)
#: the API versions Workflows publishes connectors for (the Connectors reference)
CONNECTOR_APIS = tuple(_APIS.split())

#: connector-only helper methods (their reference pages), by API version, with their arguments
HELPERS: dict[str, dict[str, tuple[str, ...]]] = {
    "secretmanager.v1": {
        "projects.secrets.addVersionString": ("secret_id", "data", "project_id"),
        "projects.secrets.versions.accessString": ("secret_id", "version", "project_id"),
    },
    "workflowexecutions.v1": {
        "projects.locations.workflows.executions.run": ("workflow_id", "argument", "location", "project_id"),
    },
    "workflowexecutions.v1beta": {
        "projects.locations.workflows.executions.run": ("workflow_id", "argument", "location", "project_id"),
    },
}


def _entry(text: str) -> tuple[str, tuple[str, ...]]:
    """``get(projectId,datasetId)+body`` → ("get", ("projectId", "datasetId", "body"))."""
    name, _, rest = text.partition("(")
    params, _, tail = rest.partition(")")
    order = tuple(p for p in params.split(",") if p)
    return name, order + (("body",) if tail == "+body" else ())


@lru_cache(maxsize=1)
def catalog() -> dict[str, dict[str, tuple[str, ...]]]:
    """API version → ``<resource path>.<method>`` → the names its positional arguments bind to."""
    raw: dict[str, dict[str, list[str]]] = json.loads(CATALOG_FILE.read_text())
    out: dict[str, dict[str, tuple[str, ...]]] = {}
    for api, resources in raw.items():
        methods: dict[str, tuple[str, ...]] = {}
        for path, entries in resources.items():
            for text in entries:
                name, order = _entry(text)
                methods[f"{path}.{name}" if path else name] = order
        methods.update(HELPERS.get(api, {}))
        out[api] = methods
    return out


def split(name: str) -> tuple[str, str] | None:
    """``googleapis.bigquery.v2.tables.get`` → ("bigquery.v2", "tables.get")."""
    parts = name.split(".")
    if len(parts) < 4 or parts[0] != "googleapis":
        return None
    return f"{parts[1]}.{parts[2]}", ".".join(parts[3:])


def check_connector(name: str) -> str | None:
    """None when ``googleapis.<api>.<version>.<...>.<method>`` is a published connector method,
    else why not."""
    parts = split(name)
    if parts is None:
        return f"{name!r} is not of the form googleapis.<api>.<version>.<resource>.<method>"
    api, method = parts
    methods = catalog().get(api)
    if methods is None:
        service = api.split(".")[0]
        known = sorted(a for a in catalog() if a.split(".")[0] == service)
        hint = f" (versions with a connector: {', '.join(known)})" if known else ""
        return f"there is no Workflows connector for {api}{hint}"
    if method not in methods:
        return f"{api} has no connector method {method!r}"
    return None


def positional_names(name: str) -> tuple[str, ...] | None:
    """The argument names positional arguments of connector ``name`` bind to, in order."""
    parts = split(name)
    if parts is None:
        return None
    return catalog().get(parts[0], {}).get(parts[1])


def _walk(resources: dict[str, Any], prefix: str, out: dict[str, list[str]]) -> None:
    for name, body in sorted(resources.items()):
        path = f"{prefix}.{name}" if prefix else name
        methods = body.get("methods") or {}
        if methods:
            out[path] = [_describe(m, methods[m]) for m in sorted(methods)]
        _walk(body.get("resources") or {}, path, out)


def _describe(name: str, method: dict[str, Any]) -> str:
    order = ",".join(method.get("parameterOrder") or [])
    return f"{name}({order})" + ("+body" if method.get("request") else "")


def regenerate(discovery_dir: Path) -> int:
    """Rewrite ``connector_catalog.json`` from discovery documents; returns the method count."""
    data: dict[str, dict[str, list[str]]] = {}
    for api in CONNECTOR_APIS:
        document = json.loads((discovery_dir / f"{api}.json").read_text())
        resources: dict[str, list[str]] = {}
        top = document.get("methods") or {}
        if top:
            resources[""] = [_describe(m, top[m]) for m in sorted(top)]
        _walk(document.get("resources") or {}, "", resources)
        data[api] = resources
    lines = ["{"]
    for i, (api, resources) in enumerate(sorted(data.items())):
        lines.append(f"  {json.dumps(api)}: {{")
        entries = sorted(resources.items())
        for j, (path, methods) in enumerate(entries):
            comma = "," if j < len(entries) - 1 else ""
            lines.append(f"    {json.dumps(path)}: {json.dumps(methods)}{comma}")
        lines.append("  }" + ("," if i < len(data) - 1 else ""))
    lines.append("}")
    CATALOG_FILE.write_text("\n".join(lines) + "\n")
    catalog.cache_clear()
    return sum(len(m) for r in data.values() for m in r.values())


if __name__ == "__main__":  # pragma: no cover - a maintenance command
    if len(sys.argv) != 2:
        sys.exit("usage: python -m localgcp.services.workflows.catalog DISCOVERY_DIR")
    print(f"{regenerate(Path(sys.argv[1]))} connector methods written to {CATALOG_FILE}")
