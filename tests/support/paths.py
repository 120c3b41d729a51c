"""Where the shared reference material lives: `shared/` beside the project root (as in CI)."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
SDK_TRAFFIC = SHARED / "sdk-traffic"
