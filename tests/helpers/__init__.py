"""Helpers shared by several test files: synthetic data set layouts (``datasets``), the model contract
(``model_contract``), the smallest two-task model (``two_head``) and the script torchrun starts for the
data-parallel check (``ddp_equivalence``)."""
