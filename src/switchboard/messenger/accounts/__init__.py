"""Staff accounts of the messenger: operators, supervisors and administrators, their passwords
(argon2id), logins (sessions with a CSRF token) and their own status."""
