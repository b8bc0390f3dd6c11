"""Experiments: sweeps over a space of inputs, recorded results, comparison, Pareto fronts,
plots and replay (see ARCHITECTURE.md for the module map)."""
