"""`python -m mktows` runs the CLI."""

from mktows.cli import app

app(prog_name="mktows")
