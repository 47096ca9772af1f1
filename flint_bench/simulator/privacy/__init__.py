"""Privacy and security trade-offs in the simulator (paper section 3.6): DP-FedAvg / DP-FedBuff
(per-client clipping, Gaussian noise, accounting through `dp-accounting`) and secure aggregation
as a cost model. docs/simulator-privacy.md has the formulas, their sources and the assumptions.

settings (the `[privacy]` config tables), dp (clipping and noise maths), accounting (ε at δ),
secagg (SecAgg costs), run (what a run applies and reports), utility (DP against no DP).
"""
