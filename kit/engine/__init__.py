"""The training engine: a run's config, the byte-level model, gradual pruning, the corpora, training
(resumable), the content-addressed run store, sweeps over grids and the book's grids themselves.

Imports kit.laws (the pruning schedules, N_avg) and nothing else of the kit: no fitting, no report.
"""
