"""The small core every domain stands on: database, jobs, real-time, HTTP kit, auth, errors."""
