"""Meso Assistant: patient assistant for hair clinics offering mesotherapy."""

import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The `rasa` command of the interpreter running us (the project's .venv).
RASA_EXECUTABLE = str(Path(sys.prefix) / "bin" / "rasa")
