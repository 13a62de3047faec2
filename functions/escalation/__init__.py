"""Escalation of long articles to the GPU container endpoint."""
