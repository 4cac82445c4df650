"""Container images of the ML pipeline steps (built from ``ml/serving/Dockerfile``'s sibling recipe).

In Vertex AI Pipelines every task runs as a Vertex custom job in its component's image; the
training steps additionally carry CPU/memory requests (see :mod:`ml.pipelines.daily`). Locally
kfp.local's SubprocessRunner ignores the image and runs the step in the current interpreter.
"""

from __future__ import annotations

from rillflow.settings import load_settings

#: ``RILLFLOW_ML_IMAGE_REGISTRY``, read when the components are defined (at import), as before
_REGISTRY = load_settings().ml_image_registry
#: the pipeline-step image: python 3.11 + the rillflow package with its [ml] extra
ML_IMAGE = f"{_REGISTRY}/ml-pipeline:latest"
#: the forecaster's CustomJob image (ml/training/Dockerfile: ``python -m ml.training.forecaster_job``)
TRAINING_IMAGE = f"{_REGISTRY}/ml-training:latest"
#: the prediction-server image (ml/serving/Dockerfile)
SERVING_IMAGE = f"{_REGISTRY}/ml-serving:latest"
