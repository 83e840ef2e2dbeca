"""Every sentence the bot writes, in one place: short, natural Chinese a leader would post.

Shared by handlers, commands and broadcasts. Add constants/functions in your section with a
targeted edit; never rewrite the whole file (several people edit it).
"""

from __future__ import annotations

# --- group replies (handlers) ---------------------------------------------------------

# --- leader and admin commands ----------------------------------------------------------

# --- broadcasts and summaries ----------------------------------------------------------
