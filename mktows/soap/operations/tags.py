"""getChannels and getTags (SPEC 7.19, 7.20)."""
