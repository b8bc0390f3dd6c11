"""``cairn serve``: a read-only web interface and JSON API over a cairn home.

Built on Starlette, uvicorn and Jinja2 (the ``web`` extra); nothing here is imported unless
``cairn serve`` runs or a test builds the app. See ``docs/serve.md``.
"""
