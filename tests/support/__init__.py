"""Helpers shared by the test suite (PostgreSQL cluster, fresh databases)."""
