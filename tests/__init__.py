"""The test suite (`make test`); a package so helpers import as `tests.support.<module>`.

pyproject.toml puts the project root on pytest's `pythonpath`: nothing edits `sys.path`.
Helpers shared by the tests (and benchmarks/) live in `tests.support`.

May import: every package of this repository (tests are the only importers of ops).
"""
