"""Small KFP pipelines for the local PipelineService's tests, compiled to YAML in the test.

No ``from __future__ import annotations`` here: KFP reads the real annotation objects.

* ``tiny``: two chained lightweight components; an int (``x``) and a bool (``flag``) parameter.
  ``add`` returns ``x + 2``; ``describe`` writes ``"n=<sum> flag=<flag>"`` to ``out_file`` (when
  given), returns it, and fails with ``ValueError("negative sum")`` when the sum is negative.
* ``sleeper``: one component that writes its pid to ``pid_file`` and sleeps ``seconds``.
"""

from pathlib import Path

from kfp import compiler, dsl

IMAGE = "python:3.11"


@dsl.component(base_image=IMAGE)
def add(a: int, b: int) -> int:
    return a + b


@dsl.component(base_image=IMAGE)
def describe(n: int, flag: bool, out_file: str) -> str:
    import pathlib

    text = f"n={n} flag={flag}"
    if out_file:
        pathlib.Path(out_file).write_text(text)
    if n < 0:
        raise ValueError("negative sum")
    return text


@dsl.pipeline(name="tiny")
def tiny(x: int = 1, flag: bool = False, out_file: str = "") -> str:
    total = add(a=x, b=2)
    return describe(n=total.output, flag=flag, out_file=out_file).output


@dsl.component(base_image=IMAGE)
def sleep_op(pid_file: str, seconds: int) -> str:
    import os
    import pathlib
    import time

    pathlib.Path(pid_file).write_text(str(os.getpid()))
    time.sleep(seconds)
    return "woke up"


@dsl.pipeline(name="sleeper")
def sleeper(pid_file: str, seconds: int = 120) -> str:
    return sleep_op(pid_file=pid_file, seconds=seconds).output


def compile_to(folder: Path) -> dict[str, Path]:
    """``{"tiny": <folder>/tiny.yaml, "sleeper": <folder>/sleeper.yaml}``."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, pipeline in (("tiny", tiny), ("sleeper", sleeper)):
        paths[name] = folder / f"{name}.yaml"
        compiler.Compiler().compile(pipeline, str(paths[name]))
    return paths
