"""The training engine: the loop, one update step, optimizer and schedule, precision, EMA, processes, checkpoints,
seeds and the run history. It sees models and weightings only through their contracts."""
