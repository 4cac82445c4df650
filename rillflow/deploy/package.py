"""``make package``: every deploy artifact, built into ``dist/`` from this tree and the lock files.

    python -m rillflow.deploy.package [--dist DIR]

Writes (paths relative to ``dist/``; terraform and ``rillflow deploy`` rely on them):

* ``functions-source.zip``: the Cloud Functions gen2 source, as the build expects it: ``main.py``
  and ``requirements.txt`` (= functions/requirements.txt, hashed) at the root, then
  ``rillflow_functions/`` and the repository modules they import (:mod:`rillflow.deploy.sources`),
  with reproducible bytes (:mod:`rillflow.deploy.archive`);
* ``images/<name>/``: one Docker build context per image (:data:`IMAGES`): its Dockerfile, the
  lock file(s) it installs from, and the source it needs, laid out as in the repository;
* ``streaming/metadata.json``: the Dataflow Flex Template metadata;
* ``pipelines/<name>.yaml``: the compiled Vertex pipelines (refused if stale);
* ``manifest.json``: each file above with its sha256 and size, each image context's digest, and
  the image tag ``rillflow deploy`` uses by default (derived from those digests).

The same tree gives the same bytes everywhere, manifest included.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rillflow.deploy.archive import sha256_file, tree_digest, write_zip
from rillflow.deploy.sources import source_files

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "dist"
FUNCTIONS_DIR = ROOT / "functions"

FUNCTIONS_ZIP = "functions-source.zip"
IMAGES_DIR = "images"
STREAMING_METADATA = "streaming/metadata.json"
PIPELINES_DIR = "pipelines"
MANIFEST = "manifest.json"
#: how many hex digits of the images' digest make the default image tag
TAG_LENGTH = 12

LOCK = "requirements.lock"
ML_LOCK = "requirements-ml.txt"
FUNCTIONS_LOCK = "functions/requirements.txt"

#: ``gcloud builds submit`` uploads a folder minus what its ``.gcloudignore`` (or, without one,
#: its ``.gitignore``) excludes; this one excludes nothing but itself.
GCLOUDIGNORE = "# every file of this build context is needed by its Dockerfile\n.gcloudignore\n"


class PackageError(Exception):
    """An artifact cannot be built from this tree (the message says why and what to do)."""


@dataclass(frozen=True)
class ImageSpec:
    """One image: its build context ``images/<name>/`` and its name in Artifact Registry."""

    name: str
    #: the image's name in the ``rillflow`` Artifact Registry repository (what the code refers to:
    #: ``ml.pipelines.images`` and ``ml.registry.vertex`` name ``ml-pipeline`` and ``ml-serving``)
    repository: str
    dockerfile: str
    #: files whose first-party import closure is the source the image carries
    entry_files: tuple[str, ...]
    #: lock files copied beside the Dockerfile, which installs from them
    locks: tuple[str, ...]


IMAGES: tuple[ImageSpec, ...] = (
    # the Dataflow Flex Template launcher and the workers' SDK container, in one image
    ImageSpec("streaming", "streaming", "streaming/Dockerfile", ("streaming/pipeline.py",), (LOCK,)),
    # every Vertex pipeline task (the components embed their code; it imports ml.* at run time)
    ImageSpec(
        "pipeline-step",
        "ml-pipeline",
        "ml/pipelines/Dockerfile",
        ("ml/churn/components.py", "ml/forecasting/components.py", "ml/training/components.py"),
        (LOCK, ML_LOCK),
    ),
    # the forecaster's Vertex CustomJob (ml/training/launcher.py: ``python -m ml.training.forecaster_job``)
    ImageSpec(
        "training",
        "ml-training",
        "ml/training/Dockerfile",
        ("ml/training/forecaster_job.py",),
        (LOCK, ML_LOCK),
    ),
    # the Vertex endpoint's prediction container
    ImageSpec("serving", "ml-serving", "ml/serving/Dockerfile", ("ml/serving/server.py",), (LOCK, ML_LOCK)),
    # the dashboard app on Cloud Run (terraform/dashboards.tf); rillflow/warehouse.py is named because
    # rillflow.resources loads the warehouse by its import path, which no import statement shows
    ImageSpec(
        "dashboards",
        "dashboards",
        "dashboards/Dockerfile",
        ("dashboards/wsgi.py", "rillflow/warehouse.py"),
        (LOCK,),
    ),
)


@dataclass(frozen=True)
class Artifact:
    path: str
    sha256: str
    size: int


@dataclass(frozen=True)
class ImageContext:
    context: str
    repository: str
    sha256: str


@dataclass(frozen=True)
class Manifest:
    image_tag: str
    images: dict[str, ImageContext]
    artifacts: tuple[Artifact, ...]

    def to_json(self) -> str:
        body = {
            "image_tag": self.image_tag,
            "images": {name: asdict(image) for name, image in sorted(self.images.items())},
            "artifacts": [asdict(a) for a in self.artifacts],
        }
        return json.dumps(body, indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        body: dict[str, Any] = json.loads(text)
        return cls(
            image_tag=body["image_tag"],
            images={name: ImageContext(**image) for name, image in body["images"].items()},
            artifacts=tuple(Artifact(**a) for a in body["artifacts"]),
        )


def functions_sources() -> dict[str, Path]:
    """The functions archive's content: ``{name in the archive: file}``."""
    files = source_files([FUNCTIONS_DIR / "main.py"], [FUNCTIONS_DIR, ROOT])
    files["requirements.txt"] = ROOT / FUNCTIONS_LOCK
    return dict(sorted(files.items()))


def image_sources(image: ImageSpec) -> dict[str, Path]:
    """An image's build context, less its ``.gcloudignore``: ``{path in the context: file}``."""
    files = source_files([ROOT / e for e in image.entry_files], [ROOT])
    files.update({lock: ROOT / lock for lock in image.locks})
    files["Dockerfile"] = ROOT / image.dockerfile
    return dict(sorted(files.items()))


def check_pipelines() -> list[str]:
    """The pipeline names, once their checked-in YAML is known to match a fresh compile."""
    from ml.pipelines.compile import stale_pipelines
    from ml.pipelines.daily import PIPELINES

    stale = stale_pipelines()
    if stale:
        raise PackageError(
            f"compiled pipelines are stale: {', '.join(stale)} (run `rillflow ml compile` and commit the YAML)"
        )
    return sorted(PIPELINES)


def _copy(files: dict[str, Path], target: Path) -> None:
    for name, source in files.items():
        dest = target / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, dest)


def _clear(dist: Path) -> None:
    """Remove this builder's previous outputs (and only those) from ``dist``."""
    for name in (FUNCTIONS_ZIP, MANIFEST):
        (dist / name).unlink(missing_ok=True)
    for name in (IMAGES_DIR, PIPELINES_DIR, Path(STREAMING_METADATA).parent.as_posix()):
        shutil.rmtree(dist / name, ignore_errors=True)


def build(dist: Path = DIST) -> Manifest:
    """Build every artifact into ``dist`` and return (and write) the manifest."""
    from ml.pipelines.compile import COMPILED_DIR

    pipelines = check_pipelines()
    dist = dist.resolve()
    _clear(dist)
    dist.mkdir(parents=True, exist_ok=True)

    write_zip(dist / FUNCTIONS_ZIP, functions_sources())

    images: dict[str, ImageContext] = {}
    for image in IMAGES:
        context = dist / IMAGES_DIR / image.name
        _copy(image_sources(image), context)
        (context / ".gcloudignore").write_text(GCLOUDIGNORE)
        digests = {p.relative_to(context).as_posix(): sha256_file(p) for p in _files(context)}
        images[image.name] = ImageContext(
            context=context.relative_to(dist).as_posix(),
            repository=image.repository,
            sha256=tree_digest(digests),
        )

    metadata = ROOT / "streaming" / "metadata.json"
    json.loads(metadata.read_text())  # a template whose metadata does not parse is refused by Dataflow
    _copy({STREAMING_METADATA: metadata}, dist)
    _copy({f"{PIPELINES_DIR}/{name}.yaml": COMPILED_DIR / f"{name}.yaml" for name in pipelines}, dist)

    artifacts = tuple(
        Artifact(path=p.relative_to(dist).as_posix(), sha256=sha256_file(p), size=p.stat().st_size)
        for p in _outputs(dist)
    )
    tag = tree_digest({name: image.sha256 for name, image in images.items()})[:TAG_LENGTH]
    manifest = Manifest(image_tag=tag, images=images, artifacts=artifacts)
    (dist / MANIFEST).write_text(manifest.to_json())
    return manifest


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def _outputs(dist: Path) -> list[Path]:
    """The files this builder wrote (``dist`` may hold others, e.g. ``rillflow deploy``'s)."""
    found = [dist / FUNCTIONS_ZIP]
    for name in (IMAGES_DIR, PIPELINES_DIR, Path(STREAMING_METADATA).parent.as_posix()):
        found.extend(_files(dist / name))
    return sorted(found, key=lambda p: p.relative_to(dist).as_posix())


def load_manifest(dist: Path = DIST) -> Manifest:
    return Manifest.from_json((dist / MANIFEST).read_text())


def _human(size: int) -> str:
    return f"{size / 1024:,.1f} KiB" if size < 1024 * 1024 else f"{size / 1024 / 1024:,.1f} MiB"


def summary(manifest: Manifest, dist: Path) -> list[str]:
    """What was built, one line per artifact group (for ``make package`` and ``rillflow deploy``)."""
    by_path = {a.path: a for a in manifest.artifacts}
    zipped = by_path[FUNCTIONS_ZIP]
    lines = [f"{dist / FUNCTIONS_ZIP}  {_human(zipped.size)}  sha256 {zipped.sha256[:12]}"]
    for _, image in sorted(manifest.images.items()):
        files = [a for a in manifest.artifacts if a.path.startswith(image.context + "/")]
        size = sum(a.size for a in files)
        lines.append(
            f"{dist / image.context}/  {len(files)} files, {_human(size)}  "
            f"image {image.repository}  context sha256 {image.sha256[:12]}"
        )
    lines.append(f"{dist / STREAMING_METADATA}")
    lines.extend(f"{dist / a.path}" for a in manifest.artifacts if a.path.startswith(PIPELINES_DIR + "/"))
    lines.append(f"{dist / MANIFEST}  image tag {manifest.image_tag}")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m rillflow.deploy.package", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--dist", type=Path, default=DIST, help="output folder (default: dist/)")
    args = parser.parse_args(argv)
    try:
        manifest = build(args.dist)
    except PackageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for line in summary(manifest, args.dist.resolve()):
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
