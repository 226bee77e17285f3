"""Consultants: who they are (from 1C) and, later, their load, skills and hours."""
