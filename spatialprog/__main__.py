"""``python -m spatialprog`` runs the command line."""

from .cli import main

main()
