"""A small Dockerfile reader for the image checks (there is no Docker engine here to build with).

It reads the instructions these Dockerfiles use: ARG, FROM, ENV (``KEY=VALUE`` form), WORKDIR,
COPY (shell form), RUN (shell form), ENTRYPOINT and CMD (exec form), with ``\\`` line
continuations, comments and ``${VAR}`` substitution from ARG defaults and ENV.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field

_VAR = re.compile(r"\$\{(\w+)\}|\$(\w+)")


@dataclass(frozen=True)
class Copy:
    flags: tuple[str, ...]
    sources: tuple[str, ...]
    dest: str

    @property
    def from_stage(self) -> bool:
        return any(flag.startswith("--from=") for flag in self.flags)


@dataclass
class Dockerfile:
    instructions: list[tuple[str, str]]
    #: build arguments and environment of the final stage, substituted
    variables: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    froms: list[str] = field(default_factory=list)
    workdir: str = "/"
    copies: list[Copy] = field(default_factory=list)
    runs: list[str] = field(default_factory=list)
    entrypoint: list[str] | None = None
    cmd: list[str] | None = None

    def substitute(self, text: str) -> str:
        return _VAR.sub(lambda m: self.variables.get(m[1] or m[2], m[0]), text)


def _logical_lines(text: str) -> list[str]:
    lines: list[str] = []
    pending = ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        lines.append(pending + stripped)
        pending = ""
    if pending:
        lines.append(pending)
    return lines


def parse(text: str) -> Dockerfile:
    instructions = []
    for line in _logical_lines(text):
        keyword, _, args = line.partition(" ")
        instructions.append((keyword.upper(), args.strip()))
    df = Dockerfile(instructions)
    global_args: dict[str, str] = {}
    for keyword, args in instructions:
        if keyword == "ARG":
            name, _, default = args.partition("=")
            value = df.substitute(default) if default else df.variables.get(name, global_args.get(name, ""))
            if not df.froms:
                global_args[name] = value
            df.variables[name] = value
        elif keyword == "FROM":
            df.froms.append(_VAR.sub(lambda m: global_args.get(m[1] or m[2], m[0]), args))
            # a stage starts with only the global ARGs it redeclares (and no ENV)
            df.variables, df.env, df.copies, df.runs = {}, {}, [], []
            df.entrypoint = df.cmd = None
        elif keyword == "ENV":
            for item in shlex.split(args):
                name, _, value = item.partition("=")
                df.env[name] = df.variables[name] = df.substitute(value)
        elif keyword == "WORKDIR":
            df.workdir = df.substitute(args)
        elif keyword == "COPY":
            tokens = [df.substitute(t) for t in shlex.split(args)]
            flags = tuple(t for t in tokens if t.startswith("--"))
            paths = [t for t in tokens if not t.startswith("--")]
            df.copies.append(Copy(flags, tuple(paths[:-1]), paths[-1]))
        elif keyword == "RUN":
            df.runs.append(df.substitute(args))
        elif keyword == "ENTRYPOINT":
            df.entrypoint = json.loads(args)
        elif keyword == "CMD":
            df.cmd = json.loads(args)
    return df


@dataclass(frozen=True)
class PipInstall:
    options: dict[str, list[str]]
    flags: frozenset[str]
    requirements: tuple[str, ...]


def commands(run: str) -> list[list[str]]:
    """A shell command line split into its simple commands (at ``&&``, ``||``, ``;``), tokenized."""
    lexer = shlex.shlex(run, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    found: list[list[str]] = [[]]
    for token in lexer:
        if token in {"&&", "||", ";"}:
            found.append([])
        else:
            found[-1].append(token)
    return [c for c in found if c]


_WITH_VALUE = {"-r", "--requirement", "-c", "--constraint", "--index-url", "-i", "--extra-index-url"}


def pip_installs(run: str) -> list[PipInstall]:
    """Every ``pip install`` of a RUN command (commands joined by ``&&`` or ``;``)."""
    found = []
    for tokens in commands(run):
        if "pip" not in tokens or tokens[tokens.index("pip") + 1 : tokens.index("pip") + 2] != ["install"]:
            continue
        rest = tokens[tokens.index("pip") + 2 :]
        options: dict[str, list[str]] = {}
        flags, requirements = set(), []
        i = 0
        while i < len(rest):
            token = rest[i]
            if token in _WITH_VALUE:
                options.setdefault(token, []).append(rest[i + 1])
                i += 2
                continue
            if token.startswith("-"):
                flags.add(token)
            else:
                requirements.append(token)
            i += 1
        found.append(PipInstall(options, frozenset(flags), tuple(requirements)))
    return found
