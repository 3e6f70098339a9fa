"""One module per group of `ctx` subcommands; each exports COMMANDS, a list of click commands."""
