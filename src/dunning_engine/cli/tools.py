"""Policy tools for the command line: convert, fmt, graph (issue 4)."""
