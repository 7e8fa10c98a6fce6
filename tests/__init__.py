"""Trupeo test suite."""
