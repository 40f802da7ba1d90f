"""Fitting a law to runs: the paper's optimiser (Huber on log loss, many starts, L-BFGS-B), intervals
that cover, seed noise, and comparisons of laws by their errors.

Depends on kit.laws alone; modules of this folder import one another relatively, so the folder
copied beside kit/laws runs as it is. The authors' own sweeps (kit.fit.paper) are the tables the
chapters fit first.
"""
