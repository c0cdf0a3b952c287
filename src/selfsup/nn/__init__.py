"""selfsup.nn"""
