"""``python -m llmobs_mapping`` runs the CLI."""

from .cli import main

raise SystemExit(main())
