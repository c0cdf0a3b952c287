"""selfsup.report"""
