"""Pure text → data: chain structure, entries, quantities, product matching, merging."""

from parsers.catalog import CatalogError, parse_catalog_csv
from parsers.chain import ChainParser, parse_message
from parsers.matching import Match, ProductMatcher
from parsers.model import Entry, Item, ParsedMessage, Product, Unmatched, to_json_dict

__all__ = [
    "CatalogError",
    "ChainParser",
    "Entry",
    "Item",
    "Match",
    "ParsedMessage",
    "Product",
    "ProductMatcher",
    "Unmatched",
    "parse_catalog_csv",
    "parse_message",
    "to_json_dict",
]
