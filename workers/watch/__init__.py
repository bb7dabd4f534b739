"""Watched folders: keep the library in step with folders the user keeps papers in.

Qt-free, so the app, ``research-hub watch run`` and tests share it. Watchdog's
callbacks only hand events to a queue; one thread turns them into library
changes once each file is complete (see :mod:`workers.watch.stability`).

The package itself imports nothing, so the CLI can build its parser without
loading watchdog; import :class:`workers.watch.watcher.FolderWatcher`.
"""
