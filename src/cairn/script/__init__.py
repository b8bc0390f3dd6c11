"""The script automation engine: meta model, variations, env, plan, cache and run steps."""
