"""Top-level windows: the main window (which only wires panels and actions), the
settings dialog, the in-app PDF viewer, the Edit details dialog (a paper's
identity), and the citing actions that open them (``citations_ui``)."""
