"""Fine-tuned pseudo-labelling: labels only the confident fraction, with the first model's
predictions, retrains a fresh encoder copy, and never trains on the pool's own labels."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch

import selfsup.eval.pseudo_label_finetune as plf
from selfsup.backbones import create_backbone
from selfsup.eval.finetune import FinetuneConfig
from selfsup.eval.pseudo_label import pseudo_label_accuracy, select_confident
from selfsup.eval.pseudo_label_finetune import predict_probs, pseudo_label_finetune
from toy_images import scale, toy_set

CFG = FinetuneConfig(epochs=3, batch_size=16, warmup_epochs=0.5, val_fraction=0.25,
                     patience=3, seed=0, num_threads=1)  # fmt: skip
FRACTION = 0.4


def spy_on_finetune(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Record every fine-tune's encoder, extra set and returned model."""
    calls: list[dict[str, Any]] = []
    real = plf.finetune_model

    def spy(encoder, preprocess, train, test, cfg, device, extra=None):  # type: ignore[no-untyped-def]
        result, model = real(encoder, preprocess, train, test, cfg, device, extra)
        calls.append({"encoder": encoder, "extra": extra, "model": model, "result": result})
        return result, model

    monkeypatch.setattr(plf, "finetune_model", spy)
    return calls


@pytest.fixture(scope="module")
def data() -> dict[str, Any]:
    return {"labeled": toy_set(24, 0), "pool": toy_set(30, 1), "heldout": toy_set(20, 2)}


def run(
    data: dict[str, Any], pool_labels: torch.Tensor | None, encoder: Any, balanced: bool = True
) -> Any:
    pool = data["pool"][0] if pool_labels is None else (data["pool"][0], pool_labels)
    return pseudo_label_finetune(encoder, scale, data["labeled"], pool, data["heldout"],
                                 fraction=FRACTION, config=CFG, balanced=balanced)  # fmt: skip


@pytest.mark.parametrize("balanced", [False, True])
def test_pseudo_labels_are_the_first_models_confident_fraction(
    data: dict[str, Any], monkeypatch: pytest.MonkeyPatch, balanced: bool
) -> None:
    calls = spy_on_finetune(monkeypatch)
    torch.manual_seed(0)
    encoder = create_backbone("resnet_tiny")
    before = {k: v.clone() for k, v in encoder.state_dict().items()}
    r = run(data, data["pool"][1], encoder, balanced)
    assert len(calls) == 2 and calls[0]["extra"] is None
    probs = predict_probs(calls[0]["model"], scale, data["pool"][0], batch_size=7)
    chosen = select_confident(probs, FRACTION, balanced)
    images, labels = calls[1]["extra"]
    assert len(images) == r.pseudo_labels == len(chosen) and r.class_balanced == balanced
    assert len(chosen) <= math.ceil(FRACTION * 30) == 12
    if not balanced:
        assert len(chosen) == 12
    assert torch.equal(images, data["pool"][0][chosen])
    assert torch.equal(labels, probs[chosen].argmax(dim=1))
    # both runs start from the caller's pretrained encoder, which stays untouched
    assert calls[1]["encoder"] is encoder
    assert all(torch.equal(before[k], v) for k, v in encoder.state_dict().items())
    assert r.labeller == "finetune" and r.weight_decay is None
    assert r.baseline_accuracy == calls[0]["result"].test_accuracy_best
    assert r.refined_accuracy == calls[1]["result"].test_accuracy_best
    assert r.gain == pytest.approx(r.refined_accuracy - r.baseline_accuracy)
    assert r.pseudo_label_accuracy == pseudo_label_accuracy(labels, data["pool"][1][chosen])


def test_pool_labels_never_train_only_score_the_pseudo_labels(
    data: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = spy_on_finetune(monkeypatch)
    truth = data["pool"][1]
    results = []
    for pool_labels in (truth, 1 - truth):  # true, then every pool label wrong
        torch.manual_seed(0)
        results.append(run(data, pool_labels, create_backbone("resnet_tiny")))
    true_run, wrong_run = results
    (_, ex_true), (_, ex_wrong) = calls[1]["extra"], calls[3]["extra"]
    assert torch.equal(ex_true, ex_wrong)  # identical pseudo labels whatever the pool says
    assert true_run.baseline_accuracy == wrong_run.baseline_accuracy
    assert true_run.refined_accuracy == wrong_run.refined_accuracy
    assert calls[1]["result"].val_history == calls[3]["result"].val_history
    right, wrong = true_run.pseudo_label_accuracy, wrong_run.pseudo_label_accuracy
    assert right is not None and wrong is not None
    assert right == pytest.approx(1 - wrong)
    assert right > 0.9  # separable toy set: the labeller is right


def test_unknown_pool_labels_report_none_and_bad_input_fails() -> None:
    assert pseudo_label_accuracy(torch.tensor([0, 1]), torch.tensor([0, -1])) is None
    assert pseudo_label_accuracy(torch.tensor([0, 1]), torch.tensor([0, 0])) == 0.5
    enc, lab = create_backbone("resnet_tiny"), toy_set(8, 0)
    with pytest.raises(ValueError, match="fraction"):
        pseudo_label_finetune(enc, scale, lab, lab[0], lab, fraction=0.0, config=CFG)
    with pytest.raises(ValueError, match="pool is empty"):
        pseudo_label_finetune(enc, scale, lab, lab[0][:0], lab, config=CFG)
    with pytest.raises(ValueError, match="pool images"):
        pseudo_label_finetune(enc, scale, lab, lab[0][:, :1], lab, config=CFG)
