"""How long a test waits, one constant per kind of wait, sized for a loaded 2-core machine.

Every wait in the suite ends as soon as its condition holds (``qtbot.waitUntil``,
``qtbot.waitSignal``, ``wait_for``, a process's ``wait``): these numbers are
ceilings, paid in full only by a test that is failing anyway. So they are
generous - ``make test`` runs two pytest processes with their worker processes
on two cores, beside whatever else the machine does - and there is one per kind
of wait, so the same thing is never given 5 s in one test and 10 s in the next.
pytest-qt's waits take milliseconds: the ``_MS`` twins.
"""

from __future__ import annotations

#: Something already running reacting to what the test did: the app's poller, task pool,
#: watcher or widgets, a folder watcher, a signal, a worker that is already up taking a
#: new paper, a process answering a request.
REACT_S = 30
#: Hundreds of files hashed and registered in one go (a watched folder filling up).
BULK_S = 120
#: A process starting until it serves: the worker (pipeline libraries and models loaded),
#: a remote lab worker, the search process's socket, the app launched on its own.
START_S = 240
#: A process told to stop (or killed) until it, and every process it started, has exited.
EXIT_S = 60
#: A liveness mark lapsing and being acted on: a held paper's lease (its worker frozen or
#: killed) until the paper is taken back, a worker's heartbeat until it shows as gone.
#: The lease's length (a test sets a short one) plus the reaper's round.
LEASE_S = 120
#: The search process loading the embedding model until meaning search is ready.
MODEL_S = 300
#: The real worker taking a test's papers (a few real or long generated ones) to the end, or
#: through the step it is in (a cancel is noticed between two batches of pages).
INGEST_S = 600
#: The whole shared corpus ingested by the real worker (``corpus_library``, once a run).
CORPUS_INGEST_S = 900
#: A command (the CLI, a helper interpreter) run to its end, start-up included.
COMMAND_S = 300

REACT_MS = REACT_S * 1000
START_MS = START_S * 1000
EXIT_MS = EXIT_S * 1000
MODEL_MS = MODEL_S * 1000
INGEST_MS = INGEST_S * 1000
COMMAND_MS = COMMAND_S * 1000
