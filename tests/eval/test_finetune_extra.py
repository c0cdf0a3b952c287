"""Fine-tuning's extra set (e.g. pseudo labels) is fitted on but never validated on."""

from __future__ import annotations

import pytest
import torch

import selfsup.eval.finetune as ft
import selfsup.modalities.image as image_modality
from selfsup.backbones import create_backbone
from selfsup.eval.finetune import FinetuneConfig, finetune, finetune_model
from selfsup.eval.linear import stratified_split
from toy_images import scale, toy_set

CFG = FinetuneConfig(
    epochs=2, batch_size=16, warmup_epochs=0.5, val_fraction=0.25, seed=3, num_threads=1
)


def test_extra_images_are_fitted_on_but_never_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    train, test, extra = toy_set(24, 0), toy_set(10, 1), toy_set(40, 2)
    scored: list[torch.Tensor] = []
    fitted: list[int] = []
    real_accuracy, real_crop = ft.accuracy, image_modality.random_crop_flip

    def spy_accuracy(model, preprocess, images, labels, device):  # type: ignore[no-untyped-def]
        scored.append(images.clone())
        return real_accuracy(model, preprocess, images, labels, device)

    def spy_crop(x, scale_min, flip, gen):  # type: ignore[no-untyped-def]
        fitted.append(len(x))
        return real_crop(x, scale_min, flip, gen)

    monkeypatch.setattr(ft, "accuracy", spy_accuracy)
    monkeypatch.setattr(image_modality, "random_crop_flip", spy_crop)
    torch.manual_seed(0)
    result, model = finetune_model(create_backbone("resnet_tiny"), scale, train, test, CFG,
                                   extra=extra)  # fmt: skip
    fit_idx, val_idx = stratified_split(train[1], CFG.val_fraction, CFG.seed)
    val_images = train[0][val_idx]
    validations = [s for s in scored if not torch.equal(s, test[0])]
    assert len(validations) == result.epochs_run == 2
    assert all(torch.equal(s, val_images) for s in validations)  # the real val split, only
    # every epoch fits on the real fit split plus every extra image
    assert sum(fitted) == result.epochs_run * (len(fit_idx) + len(extra[0]))
    assert not model.training and 0.0 <= result.test_accuracy_best <= 1.0


def test_extra_with_flipped_labels_keeps_the_same_validation_split(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    train, test = toy_set(24, 0), toy_set(10, 1)
    ex, ey = toy_set(30, 4, offset=3.0)
    runs: list[list[torch.Tensor]] = [[], []]
    real_accuracy = ft.accuracy
    for run, extra in zip(runs, [None, (ex, 1 - ey)], strict=True):

        def spy(model, preprocess, images, labels, device, run=run):  # type: ignore[no-untyped-def]
            run.append(images.clone())
            return real_accuracy(model, preprocess, images, labels, device)

        monkeypatch.setattr(ft, "accuracy", spy)
        finetune(create_backbone("resnet_tiny"), scale, train, test, CFG, extra=extra)
    assert len(runs[0]) == len(runs[1]) > 0
    assert all(torch.equal(a, b) for a, b in zip(*runs, strict=True))


def test_bad_extra_set_fails_with_one_line() -> None:
    train = toy_set(8, 0)
    with pytest.raises(ValueError, match="extra set"):
        finetune(create_backbone("resnet_tiny"), scale, train, train, CFG,
                 extra=(train[0], torch.full((8,), -1)))  # fmt: skip
    with pytest.raises(ValueError, match="extra set"):
        finetune(create_backbone("resnet_tiny"), scale, train, train, CFG,
                 extra=(train[0][:, :, :4], train[1]))  # fmt: skip
