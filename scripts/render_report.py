"""Render an HTML report to a PNG with headless Chromium, to look at it as a person would.

python scripts/render_report.py report.html report.png [--width 1280 --height 4000]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def find_chromium() -> str | None:
    """Path of a Chromium binary, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def render(html: Path, png: Path, width: int = 1280, height: int = 4000) -> Path:
    """Screenshot ``html`` into ``png``; raises RuntimeError when Chromium is missing or fails."""
    exe = find_chromium()
    if exe is None:
        raise RuntimeError("chromium not found (apt-get install -y chromium)")
    with tempfile.TemporaryDirectory() as profile:
        cmd = [
            exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", f"--user-data-dir={profile}", f"--screenshot={png.resolve()}",
            f"--window-size={width},{height}", html.resolve().as_uri(),
        ]  # fmt: skip
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False)
    if not png.exists():
        raise RuntimeError(f"chromium wrote no screenshot: {done.stderr.strip()[-300:]}")
    return png


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("html", type=Path)
    p.add_argument("png", type=Path)
    p.add_argument("--width", type=int, default=1280)
    p.add_argument("--height", type=int, default=4000)
    a = p.parse_args()
    try:
        print(render(a.html, a.png, a.width, a.height))
    except RuntimeError as e:
        print(f"render_report: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
