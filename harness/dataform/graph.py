"""The compiled Dataform graph (``dataform compile --json``) as typed actions, selection and order."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

KINDS = ("declaration", "operations", "view", "table", "incremental", "assertion")


class GraphError(ValueError):
    """The compiled graph is unusable (compile errors, unknown action, cycle)."""


@dataclass(frozen=True, order=True)
class Target:
    database: str
    schema: str
    name: str

    @classmethod
    def of(cls, raw: Mapping[str, Any]) -> Target:
        return cls(raw.get("database", ""), raw["schema"], raw["name"])

    @property
    def local(self) -> str:
        """The DuckDB name: dataset = schema; the project part is mapped away deliberately."""
        return f'"{self.schema}"."{self.name}"'

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class Action:
    target: Target
    kind: str
    queries: tuple[str, ...] = ()
    incremental_query: str = ""
    pre_ops: tuple[str, ...] = ()
    post_ops: tuple[str, ...] = ()
    incremental_pre_ops: tuple[str, ...] = ()
    incremental_post_ops: tuple[str, ...] = ()
    dependencies: tuple[Target, ...] = ()
    tags: tuple[str, ...] = ()
    unique_key: tuple[str, ...] = ()
    protected: bool = False
    disabled: bool = False
    parent: Target | None = None
    file_name: str = ""

    @property
    def name(self) -> str:
        return str(self.target)

    @property
    def query(self) -> str:
        return self.queries[0] if self.queries else ""


@dataclass
class Graph:
    actions: dict[Target, Action]
    default_database: str
    vars: dict[str, str] = field(default_factory=dict)

    @property
    def projects(self) -> frozenset[str]:
        """Every project (database) the graph names; all map to the one local DuckDB file."""
        return frozenset({self.default_database} | {t.database for t in self.actions if t.database})

    def find(self, name: str) -> Action:
        """An action by ``name``, ``dataset.name`` or ``project.dataset.name``."""
        parts = name.strip("`").split(".")
        hits = [a for t, a in self.actions.items() if [t.database, t.schema, t.name][-len(parts) :] == parts]
        if not hits:
            raise GraphError(f"no action named {name!r}")
        if len(hits) > 1:
            raise GraphError(f"action name {name!r} is ambiguous: {sorted(a.name for a in hits)}")
        return hits[0]


def _table_kind(raw: Mapping[str, Any]) -> str:
    kind = str(raw.get("enumType") or raw.get("type") or "table").lower()
    if kind not in ("table", "view", "incremental"):
        raise GraphError(f"unsupported table type {kind!r} for {raw['target']}")
    return kind


def _action(raw: Mapping[str, Any], kind: str) -> Action:
    queries: tuple[str, ...]
    if kind == "operations":
        queries = tuple(raw.get("queries", ()))
    else:
        queries = (raw["query"],) if raw.get("query") else ()
    return Action(
        target=Target.of(raw["target"]),
        kind=kind,
        queries=queries,
        incremental_query=raw.get("incrementalQuery", ""),
        pre_ops=tuple(raw.get("preOps", ())),
        post_ops=tuple(raw.get("postOps", ())),
        incremental_pre_ops=tuple(raw.get("incrementalPreOps", ())),
        incremental_post_ops=tuple(raw.get("incrementalPostOps", ())),
        dependencies=tuple(Target.of(d) for d in raw.get("dependencyTargets", ())),
        tags=tuple(raw.get("tags", ())),
        unique_key=tuple(raw.get("uniqueKey", ())),
        protected=bool(raw.get("protected", False)),
        disabled=bool(raw.get("disabled", False)),
        parent=Target.of(raw["parentAction"]) if raw.get("parentAction") else None,
        file_name=raw.get("fileName", ""),
    )


def parse_graph(compiled: Mapping[str, Any]) -> Graph:
    """Build the graph, refusing one with compile errors."""
    errors = compiled.get("graphErrors") or {}
    if any(errors.values()):
        raise GraphError(f"the Dataform project has compile errors: {errors}")
    actions: dict[Target, Action] = {}
    groups: list[tuple[str, Iterable[Mapping[str, Any]]]] = [
        ("declaration", compiled.get("declarations", ())),
        ("operations", compiled.get("operations", ())),
        ("assertion", compiled.get("assertions", ())),
    ]
    for kind, raws in groups:
        for raw in raws:
            action = _action(raw, kind)
            actions[action.target] = action
    for raw in compiled.get("tables", ()):
        action = _action(raw, _table_kind(raw))
        actions[action.target] = action
    config = compiled.get("projectConfig", {})
    return Graph(actions, config.get("defaultDatabase", ""), dict(config.get("vars", {})))


def topological_order(graph: Graph, selected: Iterable[Target]) -> list[Action]:
    """The selected actions, each after every selected action it depends on (stable by name)."""
    chosen = set(selected)
    order: list[Action] = []
    state: dict[Target, str] = {}

    def visit(target: Target, path: tuple[Target, ...]) -> None:
        if state.get(target) == "done":
            return
        if state.get(target) == "visiting":
            raise GraphError("dependency cycle: " + " -> ".join(str(t) for t in (*path, target)))
        state[target] = "visiting"
        action = graph.actions[target]
        for dep in sorted(action.dependencies):
            if dep in chosen and dep in graph.actions:
                visit(dep, (*path, target))
        state[target] = "done"
        order.append(action)

    for target in sorted(chosen):
        visit(target, ())
    return order


def select(
    graph: Graph, tags: Iterable[str] = (), actions: Iterable[str] = (), include_dependencies: bool = False
) -> list[Action]:
    """Actions to run, in dependency order: all, or those with any of ``tags`` / named in ``actions``.

    Assertions of a selected action come along (they are its checks); ``include_dependencies`` adds
    everything upstream of the selection.
    """
    tags, names = set(tags), list(actions)
    if not tags and not names:
        chosen = set(graph.actions)
    else:
        chosen = {t for t, a in graph.actions.items() if tags & set(a.tags)}
        chosen |= {graph.find(n).target for n in names}
    if include_dependencies:
        stack = list(chosen)
        while stack:
            for dep in graph.actions[stack.pop()].dependencies:
                if dep in graph.actions and dep not in chosen:
                    chosen.add(dep)
                    stack.append(dep)
    chosen |= {t for t, a in graph.actions.items() if a.kind == "assertion" and a.parent in chosen}
    return [a for a in topological_order(graph, chosen) if not a.disabled]
