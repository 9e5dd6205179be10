"""Credentials and roles: bearer tokens (stored as hashes) and the per-role dependencies."""
