"""`python -m zoo ...` is the `zoo` command (the app starts trainings this way)."""
import sys

from .cli import main

sys.exit(main())
