"""Benchmarks: figures as ratios to the theoretical limit or to a peer measured in the same run."""
