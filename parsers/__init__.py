"""Pure text → data: chain structure, entries, quantities, product matching, merging."""

from parsers.model import Entry, Item, ParsedMessage, Product, Unmatched, to_json_dict

__all__ = ["Entry", "Item", "ParsedMessage", "Product", "Unmatched", "to_json_dict"]
