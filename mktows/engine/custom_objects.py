"""Custom object types from the instance file and their records (SPEC 7.21 - 7.23, 8.6)."""
