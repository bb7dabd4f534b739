"""Research Hub's desktop app (PySide6). Never imports torch, docling or sentence-transformers.

Layout, by role:

* ``launcher`` -- the ``research-hub`` entry point (no Qt): a command runs the
  engine CLI, none checks the display and starts the app through ``startup``;
* ``startup`` -- logging, one app per library, the event loop;
* ``application`` -- :class:`~app.application.ResearchHub` builds every service
  and widget in a fixed order and stops them in reverse;
* ``windows/`` -- top-level windows (main window, settings, PDF viewer, a
  paper's Edit details dialog) and the citing actions that open them;
* ``panels/`` -- the widgets the main window is made of;
* ``models/`` -- Qt item models and their delegates;
* ``services/`` -- non-visual parts: library actions and polling, background
  tasks, child processes, watched folders, identity and citations, news, tray,
  throughput;
* ``platform/`` -- the desktop: opening files, checking that a window can open.
"""
