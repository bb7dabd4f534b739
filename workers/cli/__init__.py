"""``research-hub`` commands for scripts and terminals: the parser and each command's code.

``main`` builds the parser and runs the small commands; ``identity`` (export,
edit, cite, versions), ``doctor`` and ``watch`` hold the larger ones. Importing
the package is cheap: every command imports what it needs when it runs.
"""
