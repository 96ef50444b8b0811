"""What every package of this repository shares: how a mistake the user can fix is raised and printed.

`common.errors` holds BundleError (what is wrong and what to do, in one line), `run_cli` (each
problem as one `error: ...` line, exit code 1; DEBUG=1 for the traceback), `CommandLine` (the
argparse every entry point parses its arguments with) and `explain_interrupt` (Ctrl-C half-way).
The flow checker, the stacks, the operator commands and the plan diff all report the same way,
so this sits below all of them and depends on none.

May import: nothing of this repository (the standard library only).
"""
