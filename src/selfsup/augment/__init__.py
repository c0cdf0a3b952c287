"""selfsup.augment"""
