"""Automations: kinds of artifacts and the actions that apply to them."""
