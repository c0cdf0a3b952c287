"""Self-distillation methods: a student matches an EMA teacher's outputs (DINO, DINOv2-style)."""
