"""The run store: trained runs kept once under a key of what decides them, with their lock, atomic writes and
the roots of generated data, runs and caches."""
