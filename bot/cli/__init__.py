"""The `jielong` command line. Each sub-command lives in a module of this package."""

from __future__ import annotations

import click

from bot import logs
from bot.cli.common import OneLineErrors


@click.group(cls=OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="jielong", prog_name="jielong", message="%(prog)s %(version)s")
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages to stderr (same as --log-level debug).")
@click.option("--log-level", type=click.Choice(logs.LEVELS, case_sensitive=False), default="info",
              show_default=True, help="How much to log to stderr.")
def main(verbose: bool, log_level: str) -> None:
    """jielong: turns WeChat 接龙 group-buying chains into orders nobody loses."""
    logs.configure("debug" if verbose else log_level.lower())


def _register() -> None:
    import importlib
    import pkgutil

    # Sub-command modules register themselves on `main` when imported.
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")


_register()
