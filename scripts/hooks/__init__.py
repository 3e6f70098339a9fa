"""Claude Code hooks. Standard library only: they run on every prompt and tool call."""
