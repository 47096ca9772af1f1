"""The FL simulator: FedAvg / FedBuff on a virtual clock over a proxy population.

`experiment.run` runs all trials of one config (`sweep.run_sweep` a grid of them); a trial's loop is
`simulation.run_trial`, the mode's server maths a `strategies.Strategy`, where client training runs a
`backends.Backend`, and target stopping and checkpoints are `callbacks`.
"""
