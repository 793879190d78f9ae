"""The replay of the upstream report's GradNorm test: its toy network, its weighting rule and the tables that set
its claims beside the replay."""
