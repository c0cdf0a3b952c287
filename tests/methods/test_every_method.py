"""Every registered method trains for a few steps on a tiny CPU batch of its modality, built
from its ``tiny`` registry metadata; it returns the embedding it declares; momentum teachers
(the pairs of a method's :class:`EMATeacher`) move, stay frozen and differ from their
students."""

from __future__ import annotations

import pytest
import torch

from method_helpers import train_steps
from selfsup.methods import Method, list_methods, register_method
from selfsup.methods.registry import METHODS
from selfsup.nn.ema_teacher import EMATeacher
from tiny_methods import build_tiny, tiny_spec

# Methods with a momentum teacher: a refactor must not drop one silently.
TEACHER_METHODS = {
    "byol",
    "moco",
    "moco_v3",
    "dino",
    "dinov2",
    "data2vec",
    "data2vec_text",
    "data2vec_audio",
}


@pytest.mark.parametrize("name", list_methods())
def test_method_trains_five_steps(name: str) -> None:
    torch.manual_seed(0)
    spec = tiny_spec(name)
    method, batch = build_tiny(name)
    tensors = {k: v for k, v in method.state_dict().items() if isinstance(v, torch.Tensor)}
    before = {k: v.detach().clone() for k, v in tensors.items()}  # (text: + tokenizer state)
    opt = torch.optim.SGD(method.parameters(), lr=0.05, momentum=0.9)
    out = train_steps(method, batch, opt)
    changed = [
        k
        for k, v in method.state_dict().items()
        if isinstance(v, torch.Tensor) and v.is_floating_point() and not torch.equal(v, before[k])
    ]
    assert any(k.startswith("backbone.") for k in changed)
    if spec.embedding:
        assert "embedding" in out, f"'{name}' returns no embedding; declare tiny embedding=False"
        assert out["embedding"].shape[0] == 8 and not out["embedding"].requires_grad
    else:
        assert "embedding" not in out, f"'{name}' returns an embedding its metadata denies"
    names = {id(m): n for n, m in method.named_modules()}
    emas = [m for m in method.modules() if isinstance(m, EMATeacher)]
    assert bool(emas) == (name in TEACHER_METHODS)
    for student, teacher in [pair for ema in emas for pair in ema.pairs]:
        teacher_name = names[id(teacher)]
        assert all(not p.requires_grad and p.grad is None for p in teacher.parameters())
        assert any(k.startswith(f"{teacher_name}.") for k in changed), teacher_name
        pairs = zip(teacher.parameters(), student.parameters(), strict=True)
        assert any(not torch.equal(t, s) for t, s in pairs), teacher_name


def test_a_method_without_tiny_settings_fails_instead_of_being_skipped() -> None:
    @register_method("untested_method")
    class Untested(Method):
        pass

    try:
        assert "untested_method" in list_methods()
        with pytest.raises(pytest.fail.Exception, match="declares no tiny test settings"):
            tiny_spec("untested_method")
    finally:
        METHODS.unregister("untested_method")
