"""Meso Assistant: patient assistant for hair clinics offering mesotherapy."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
