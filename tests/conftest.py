"""Shared test setup.

pytest imports this file from ``tests/`` (not a package), which puts ``tests/`` on ``sys.path``:
test modules in any subfolder can then ``import distributed_helpers`` and other shared helpers.
"""
