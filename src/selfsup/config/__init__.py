"""selfsup.config"""
