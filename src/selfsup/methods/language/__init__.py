"""Language-model pretraining for text backbones: BERT masked LM and GPT next-token LM."""
