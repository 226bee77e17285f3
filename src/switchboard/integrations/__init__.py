"""Adapters for the external systems. Business code talks to the ports, never to a URL."""
