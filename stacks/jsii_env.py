"""Environment for the jsii runtime that cdktf runs on.

jsii prints a 12-line "Node 20 is end-of-life" banner on every process. Learners would see
it on every command and take it for an error, so we silence it deliberately for the Node
majors we support; the Makefile exports the same variable for the cdktf CLI.
"""

import os

SILENCED_NODE_MAJORS = "20,22,24"
_VARIABLE = "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"


def silence_node_banner() -> None:
    os.environ.setdefault(_VARIABLE, SILENCED_NODE_MAJORS)
