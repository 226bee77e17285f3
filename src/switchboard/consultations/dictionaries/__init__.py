"""The reference catalogs of seed 001, loaded in full from 1C and served from a cache."""
