"""selfsup.backbones"""
