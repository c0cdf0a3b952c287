"""SSL methods: importing this package registers every method."""

from selfsup.methods.audio import audio_mae, data2vec_audio, hubert, wav2vec2
from selfsup.methods.base import Batch, Method
from selfsup.methods.contrastive import (
    barlow_twins,
    byol,
    moco,
    moco_v3,
    nnclr,
    simclr,
    simsiam,
    swav,
    vicreg,
)
from selfsup.methods.crossmodal import clip
from selfsup.methods.distillation import dino, dinov2
from selfsup.methods.language import bert_mlm, data2vec_text, gpt
from selfsup.methods.masked import beit, data2vec, mae, vq_tokenizer
from selfsup.methods.pretext import colorization, inpainting, jigsaw, relative_position, rotation
from selfsup.methods.registry import METHODS, create_method, list_methods, register_method

__all__ = [
    "METHODS",
    "Batch",
    "Method",
    "audio_mae",
    "barlow_twins",
    "beit",
    "bert_mlm",
    "byol",
    "clip",
    "colorization",
    "create_method",
    "data2vec",
    "data2vec_audio",
    "data2vec_text",
    "dino",
    "dinov2",
    "gpt",
    "hubert",
    "inpainting",
    "jigsaw",
    "list_methods",
    "mae",
    "moco",
    "moco_v3",
    "nnclr",
    "register_method",
    "relative_position",
    "rotation",
    "simclr",
    "simsiam",
    "swav",
    "vicreg",
    "vq_tokenizer",
    "wav2vec2",
]
