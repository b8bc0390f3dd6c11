"""The store: repositories on disk, their registry, and the artifacts they hold."""
