"""selfsup.engine"""
