"""The application: transports, handlers, commands, scheduler, CLI."""
