"""Deploy artifacts and the deploy itself.

``python -m rillflow.deploy.package`` (``make package``) builds every artifact a Google Cloud
deploy needs into ``dist/``: the Cloud Functions source archive, one Docker build context per
image, the Dataflow Flex Template metadata and the compiled Vertex pipelines, with a manifest of
their digests. ``rillflow deploy`` (:mod:`rillflow.commands.deploy`) builds them and then runs
the Cloud Build, Dataflow, Cloud Storage and terraform commands of :mod:`rillflow.deploy.plan`
through one :mod:`rillflow.deploy.runner`. See docs/DEPLOY.md.
"""
