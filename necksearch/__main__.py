"""``python -m necksearch`` runs the command line."""
import sys

from necksearch.cli import main

sys.exit(main())
