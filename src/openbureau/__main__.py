"""``python -m openbureau`` runs the CLI."""

from openbureau.cli import app

app(prog_name="openbureau")
