"""Compatibility with Collective Mind's Python side: the ``cmind`` shim and the hook input."""
