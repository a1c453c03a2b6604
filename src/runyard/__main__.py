"""``python -m runyard`` is the ``runyard`` command."""

from runyard.cli.main import app

app()
