"""selfsup: self-supervised representation learning for images, audio and text."""

__version__ = "0.1.0"
