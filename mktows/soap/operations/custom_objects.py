"""getCustomObjects, syncCustomObjects, deleteCustomObjects (SPEC 7.21 - 7.23)."""
