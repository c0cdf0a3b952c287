"""Methods that pretrain two encoders of different modalities on paired data."""
