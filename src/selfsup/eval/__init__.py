"""Evaluation of frozen encoders: feature extraction, kNN, linear probe, training monitors."""

from selfsup.eval.features import Encode, Features, extract_features, feature_cache_key
from selfsup.eval.knn import (
    KNNResult,
    knn_accuracy,
    knn_class_ranking,
    knn_evaluate,
    knn_neighbors,
    knn_predict,
)
from selfsup.eval.linear import LinearProbeResult, linear_probe, stratified_split
from selfsup.eval.monitors import embedding_std

__all__ = [
    "Encode",
    "Features",
    "KNNResult",
    "LinearProbeResult",
    "embedding_std",
    "extract_features",
    "feature_cache_key",
    "knn_accuracy",
    "knn_class_ranking",
    "knn_evaluate",
    "knn_neighbors",
    "knn_predict",
    "linear_probe",
    "stratified_split",
]
