"""Lab mode: the same ingestion on Huey's Redis storage, with workers on other machines.

Solo mode (the default) is Huey on SQLite in the data folder, and a worker on
the machine that holds the library. Lab mode points the queue at a Redis
server (``PriorityRedisHuey``) so that workers on other machines can help:

* the machine that owns the library (the app, or a headless ``research-hub
  worker --data-dir D``) stays the **only writer** of ``library.db``: it
  publishes each paper's bytes (addressed by SHA-256) and a signed task, and
  commits the results that come back (:mod:`workers.lab.owner`);
* a worker anywhere (``research-hub worker --queue URL --remote``) runs the
  one paper run of solo mode (``workers.runtime.paper_run``) with a Redis lease
  (:mod:`workers.lab.lease`: claims the paper, fetches and checks its bytes)
  and a sink that sends the outcome back (:mod:`workers.lab.sink`); it never
  opens a library and never needs the user's files. The owner's own local
  workers run this very task (:mod:`workers.lab.mode`), so lab mode has one
  ingest path wherever the worker runs;
* Huey neither acknowledges tasks nor expires its locks, so liveness is ours:
  a lease per paper, renewed by a heartbeat with a short TTL, and a reaper on
  the owner that puts a paper whose worker vanished back in the queue
  (:mod:`workers.lab.channel` holds the Redis side of all of it).

Everything that crosses the network is a typed, versioned message signed with
the lab's secret (:mod:`workers.lab.wire`, no pickle); the Redis password never
appears in a log line (:mod:`workers.lab.config`). The queue's transport is
:mod:`workers.lab.queue`; which mode runs is decided in one place,
``workers.engine``.
"""
