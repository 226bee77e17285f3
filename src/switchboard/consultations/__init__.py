"""Booked consultations: clients, managers, dictionaries, 1C and Chatwoot sync (seeds 000-002)."""
