"""Artifact stores: the interface and its implementations."""
