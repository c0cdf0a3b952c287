"""selfsup.eval"""
