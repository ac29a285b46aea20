from mktows.cli import app

app()
