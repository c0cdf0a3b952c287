"""Masked-image-modelling methods: predict what was hidden from what is visible (MAE, BEiT)."""
