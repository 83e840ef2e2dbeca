"""The `jielong` command line. Each sub-command lives in a module of this package."""

from __future__ import annotations

import logging

import click

from bot.cli.common import OneLineErrors


@click.group(cls=OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages to stderr.")
def main(verbose: bool) -> None:
    """jielong: turns WeChat 接龙 group-buying chains into orders nobody loses."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def _register() -> None:
    import importlib
    import pkgutil

    # Sub-command modules register themselves on `main` when imported.
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")


_register()
