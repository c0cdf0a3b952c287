"""selfsup.data"""
