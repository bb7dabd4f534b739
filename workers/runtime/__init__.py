"""The engine runtime: consumers, the one paper run, the guard, reconciliation, helpers.

What runs a paper (``paper_run``), what keeps a worker process honest and
visible (``guard``, ``status_board``), what keeps the queue in step with the
library (``reconcile``), the Huey tasks (``tasks``), the consumer that forks and
supervises worker processes (``consumer``) and the library machine's helper
processes (``quick_pass``). Nothing here imports ``workers.lab``: lab mode plugs
its lease, sink and duties in through ``workers.engine``, the composition root.
"""
