"""Switchboard: customers to people, by chat, phone and booked consultations."""

__version__ = "0.1.0"
