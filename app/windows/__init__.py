"""Top-level windows: the main window (which only wires panels and actions), the
settings dialog and the in-app PDF viewer."""
