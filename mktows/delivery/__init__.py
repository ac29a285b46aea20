"""Email delivery: every message is kept in the outbox; SMTP sends it when configured."""
