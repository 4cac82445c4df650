"""The forecaster's Vertex AI training: its dataset, its CustomJob entry point and launcher, and the
pipeline step that trains, registers and deploys (see ``ml/README.md``)."""
