"""Rillflow's one trigger declaration, ``functions/triggers.yaml``, read with localgcp's Eventarc
model: the same file terraform (functions.tf, scheduler.tf), the local router and the scheduler read."""

from __future__ import annotations

from pathlib import Path

from localgcp.services.eventarc.triggers import Declaration
from localgcp.services.eventarc.triggers import load_declaration as _load

DECLARATION = Path(__file__).resolve().parent.parent / "functions" / "triggers.yaml"


def load_declaration(variables: dict[str, str]) -> Declaration:
    """The declaration with ``${name}`` substituted from ``variables`` (``lake_bucket``)."""
    return _load(DECLARATION, variables)
