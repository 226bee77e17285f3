"""The messenger domain (issue 8, seed 004): the website chat, its operators and their routing."""
