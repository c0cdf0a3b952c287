"""A tiny SimCLR run on the bundled digits: the engine tests' shared starting point."""

from __future__ import annotations


def tiny_digits_simclr(proj_hidden: int = 32, proj_out: int = 16) -> list[str]:
    """Overrides for SimCLR on 8 px digits with resnet_tiny (batch 64: 21 steps per epoch),
    no progress bar and no online kNN; callers add their optimizer and train keys."""
    return [
        "data.source=digits",
        "data.batch_size=64",
        "backbone.name=resnet_tiny",
        "augment.name=simclr",
        "augment.size=8",
        "method.name=simclr",
        f"method.proj_hidden_dim={proj_hidden}",
        f"method.proj_out_dim={proj_out}",
        "train.progress=false",
        "eval.knn_every_n_epochs=0",
    ]
