"""The test suite (`make test`); a package so helpers import as `tests.support.<module>`.

pyproject.toml puts the project root on pytest's `pythonpath`: nothing edits `sys.path`.
"""
