"""The widgets the main window is made of: the library table, the details pane,
the search and watched-folder docks, the log, the status bar and the news banner.
Each takes what it needs through its constructor and talks back with signals."""
