"""Fidelity, privacy and utility metrics for synthetic images and tables."""
