"""Foundations every other package builds on: errors, config loading, the host/device contract,
the typed result record and its store, units, versions, statistics and atomic file writes. Nothing
here imports a farm, a model or the simulator."""
