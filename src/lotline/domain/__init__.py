"""Pure domain rules: no I/O, no web framework, no database session."""
