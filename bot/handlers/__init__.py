"""Handlers: what the bot does with a group chain, free text, a member's question."""
