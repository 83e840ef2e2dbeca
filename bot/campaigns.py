"""Which campaign a chain or a leader's words name, when several run in one group.

A campaign is named the way a product is (parsers.ProductMatcher over campaign titles, with
the campaign id as an alias): "水果" or "水果团" names 周三水果团, a chain titled
"周三水果团 今晚10点截单" names it too. What fits two campaigns names neither: the caller asks.
A chain whose title names none goes to the campaign whose catalog its lines order from.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from parsers import ParsedMessage, Product, ProductMatcher
from storage.models import Campaign


class CampaignNames:
    """Matches words against the titles of a few campaigns."""

    def __init__(self, campaigns: Sequence[Campaign]):
        self.campaigns = list(campaigns)
        self._by_id = {c.id: c for c in self.campaigns}
        self._matcher = ProductMatcher([Product(sku=c.id, name=c.title, aliases=(c.id,)) for c in self.campaigns])

    def named(self, words: str | None) -> Campaign | None:
        """The one campaign these words name (whole, or the words inside a longer title)."""
        if not words or not self.campaigns:
            return None
        match = self._matcher.match(words)
        if match.product is None or match.kind == "fuzzy":
            return None  # a typo-close title is no way to pick whose orders these are
        return self._by_id[match.product.sku]


@dataclass(frozen=True)
class Choice:
    """Where a new chain goes: a campaign, or None when it fits several equally (`tied`)."""

    campaign: Campaign | None
    tied: tuple[Campaign, ...] = ()


def choose_campaign(pool: Sequence[Campaign], title: str | None, parse_with: Callable[[Campaign], ParsedMessage],
                    is_running: Callable[[Campaign], bool]) -> Choice:
    """The campaign a new chain belongs to: the one its title names; else the one whose
    catalog most of its items come from; among equals, the only one still taking orders.
    `parse_with(campaign)` reads the chain with that campaign's catalog."""
    if len(pool) == 1:
        return Choice(pool[0])
    named = CampaignNames(pool).named(title)
    if named is not None:
        return Choice(named)
    overlap = {c.id: _matched_items(parse_with(c)) for c in pool}
    best = max(overlap.values())
    tied = [c for c in pool if overlap[c.id] == best]
    if len(tied) == 1:
        return Choice(tied[0])
    running = [c for c in tied if is_running(c)]
    if len(running) == 1:
        return Choice(running[0])
    return Choice(None, tuple(tied))


def _matched_items(parsed: ParsedMessage) -> int:
    return sum(1 for entry in parsed.entries for item in entry.items if item.sku)


def free_order_campaign(pool: Sequence[Campaign], parse_with: Callable[[Campaign], ParsedMessage]) -> Campaign:
    """The campaign a free-text order ("+1 西瓜") is kept under: the one whose catalog reads
    most of its items, else the first of the pool (nearest deadline). Such an order is only
    kept for the leader to confirm, never counted, so a tie needs no question."""
    return max(pool, key=lambda c: sum(1 for item in parse_with(c).order or () if item.sku))
