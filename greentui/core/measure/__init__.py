"""Measuring: power sources, the sampler, energy windows, carbon."""
