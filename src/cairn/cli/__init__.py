"""The command-line edge: argv grammar, dispatch, rendering and exit codes."""
