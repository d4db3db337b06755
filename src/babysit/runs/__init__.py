"""A run from a description: `RunConfig`, the builders that turn it into data, a network and a
Trainer, the run folder and its lock, the end of a run (summary, diagnosis, report), and the
front ends built on runs (ensembles, prediction from a saved run)."""

__all__: list[str] = []
