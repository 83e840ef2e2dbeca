"""Where the offline transports (demo, console) put the pictures the bot sends: a PNG file
beside their transcript, named by time and recipient, so a person can open it."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from bot.events import OutgoingText


def save_image(out: OutgoingText, folder: Path, at: datetime) -> Path | None:
    """Write the message's picture into `folder` (created if needed); None when it has none."""
    if not out.image:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    recipient = re.sub(r"[^\w.-]+", "_", out.to).strip("._")[:60]  # a group's name stays readable
    stem = f"{at:%Y%m%d-%H%M%S}-{recipient}"
    path = folder / f"{stem}.png"
    n = 1
    while path.exists():
        n += 1
        path = folder / f"{stem}-{n}.png"
    path.write_bytes(out.image)
    return path
