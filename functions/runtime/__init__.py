"""Torch-free inference runtime: bundle loading, the one prompt format, KV-cache generation."""
