"""Helpers the tests share: synthesis, inventories, fakes, the flows' SQL, a throwaway PostgreSQL.

What lives here is imported by tests (and benchmarks/), never collected: no `test_` module.
Modules here may import any package of the repository (`stacks`, `flowcheck`, `common`, `ops`) and
each other, never a test module. Importing the package
imports `stacks` first, which silences the jsii Node banner before anything loads cdktf.
"""

import stacks  # noqa: F401
