"""Program as an MObject (SPEC 7.14, 7.15): filters, details, cost/tag/channel updates."""
