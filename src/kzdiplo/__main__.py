"""``python -m kzdiplo`` runs the CLI."""

from kzdiplo.cli import main

main()
