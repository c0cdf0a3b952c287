"""Audio methods: masked prediction over the frames of a waveform encoder (wav2vec 2.0, HuBERT)."""
