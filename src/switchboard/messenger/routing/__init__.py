"""Routing of conversations: branch by region, operator by load, escalation by timer."""
