"""``python -m rfm_retention`` runs the command line."""

from rfm_retention.cli import main

raise SystemExit(main())
