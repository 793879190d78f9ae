"""The report's experiments as data: named methods and their configurations, the batch that trains missing runs,
and the GradNorm paper's own benchmark."""
