"""Integrations that other tools load."""
