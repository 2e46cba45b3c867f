"""Spark runtimes: the interface and its implementations (local, EMR Serverless, EMR steps)."""
