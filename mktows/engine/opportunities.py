"""Opportunities and their person roles as MObjects (SPEC 7.14 - 7.16, 8.5)."""
