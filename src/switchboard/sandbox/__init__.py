"""Protocol-faithful emulators of the external systems, with fault injection and demo data."""
