"""Self-contained HTML reports of pretraining runs (``selfsup report RUN_DIR``)."""

from selfsup.report.html import render_report, write_report
from selfsup.report.sections_data import RunData, load_run
from selfsup.report.sections_features import FeaturePictures, feature_pictures
from selfsup.report.sections_text import TextSample

__all__ = [
    "FeaturePictures",
    "RunData",
    "TextSample",
    "feature_pictures",
    "load_run",
    "render_report",
    "write_report",
]
