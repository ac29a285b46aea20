"""Programs and what runs in them: channels and tags, My Tokens, smart lists, campaign requests
and schedules, runs and their flow steps (`steps/`), and the email outbox the runs fill.
Its calls are in `facade.py`."""
