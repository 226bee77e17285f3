"""Sandbox pieces of the messenger: simulated website visitors."""
