"""Containers from a script: a build context (``dockerfile.py``, ``context.py``) and the engine
that builds and runs it (``engine.py``)."""
