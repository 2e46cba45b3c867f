"""Validation gates: blocking checks a release (or a pull request) must pass before staging."""
