"""selfsup.methods"""
