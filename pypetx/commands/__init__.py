"""One module per ``pypetx`` CLI command (registered in :data:`pypetx.cli.COMMANDS`)."""
