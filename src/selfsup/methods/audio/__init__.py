"""Audio self-supervised methods: wav2vec 2.0, HuBERT, Audio-MAE and data2vec (speech)."""
