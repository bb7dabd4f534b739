"""Non-visual parts of the app: library actions and polling, the background task
runner, watched folders, child processes (worker, search), identity and citations
(``citation_service``), news and throughput.
None of them runs SQL or waits on the GUI thread."""
