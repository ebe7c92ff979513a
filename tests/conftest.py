"""Shared test setup: headless matplotlib, and where the book lives."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parent.parent
