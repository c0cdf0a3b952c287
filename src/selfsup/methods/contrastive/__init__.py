"""Contrastive and siamese methods."""
