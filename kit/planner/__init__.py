"""Should I sparsify? The law of kit.laws as a planner (kit.planner.plan), with a cost model measured
on real sparse kernels (kit.planner.sparse_speed, kit.planner.speedup). Imports kit.laws alone."""
