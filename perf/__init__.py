"""Benchmarks a user can run: each prints its figures beside PyTorch's and NumPy's from the same run."""
