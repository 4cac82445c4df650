"""Who may call which function, locally as terraform grants it in the cloud.

Terraform gives ``roles/run.invoker`` on a function to: the scheduler's service account for the
functions its jobs target (``scheduler.tf``), each Eventarc trigger's own account for its function
(``functions.tf``) and the workflows' account for the functions the daily pipeline calls
(``workflows.tf``). The local stack mints ID tokens naming the same accounts
(:mod:`localgcp.services.functions.oidc`) and its functions host refuses any other caller.
"""

from __future__ import annotations

from localgcp.services.eventarc.triggers import Declaration, EventTrigger

#: the functions the daily pipeline workflow calls over HTTP (``workflows.tf``'s invoker grant)
WORKFLOW_CALLED = ("export_sales", "compact_app_events")


def account(account_id: str, project: str) -> str:
    return f"{account_id}@{project}.iam.gserviceaccount.com"


def scheduler_account(project: str) -> str:
    return account("rillflow-scheduler", project)


def workflows_account(project: str) -> str:
    return account("rillflow-workflows", project)


def trigger_account(trigger: EventTrigger, project: str) -> str:
    """``functions.tf``'s ``google_service_account.trigger``: ``tr-<name>``, at most 30 characters."""
    return account(f"tr-{trigger.name.replace('_', '-')}"[:30], project)


def invokers(declaration: Declaration, project: str) -> dict[str, frozenset[str]]:
    """Function name -> the service accounts holding run.invoker on it."""
    grants: dict[str, set[str]] = {name: set() for name in declaration.functions}
    for schedule in declaration.schedules:
        grants[schedule.function].add(scheduler_account(project))
    for trigger in declaration.event_triggers:
        grants[trigger.function].add(trigger_account(trigger, project))
    for name in WORKFLOW_CALLED:
        grants[name].add(workflows_account(project))
    return {name: frozenset(members) for name, members in grants.items()}
