"""A lab in a test: a real redis-server, a library owner and remote workers as real processes.

Every process is started with ``engine_command`` exactly as a user would
start it (``research-hub worker --data-dir D --queue URL`` for the owner,
``research-hub worker --queue URL --remote`` for a remote worker). The
password travels in ``RESEARCH_HUB_REDIS_PASSWORD`` and the lab secret in
``RESEARCH_HUB_LAB_SECRET``. Each remote worker gets a HOME and a cache of
its own and nothing else: it is never told where the library or the PDFs are.

Starting a worker costs 10-20 s (torch, Docling and the model load), so tests
that only need "a remote worker that serves" can share warm ones across a
module: a ``Lab`` given a ``pool`` takes remote workers from it (and leaves
them running), and ``marks`` makes :meth:`Lab.log` and :meth:`Lab.logs` show
only what this test's part of the run wrote.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.helpers.redis_server import RedisServer
from tests.helpers.waits import COMMAND_S
from tests.helpers.worker_processes import REPO, process_tree
from workers.lab.config import QueueConfig
from workers.paths import DataDir
from workers.processes import engine_command


@dataclass
class Lab:
    server: RedisServer
    data_dir: DataDir
    folder: Path
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    #: Warm remote workers shared by the tests of a module, by name; None: none shared.
    pool: dict[str, subprocess.Popen[bytes]] | None = None
    #: The size of each log (by name) when this test began; reads start there.
    marks: dict[str, int] = field(default_factory=dict)

    def mark_logs(self) -> None:
        """From now on, :meth:`log` and :meth:`logs` show only what is written after this."""
        self.marks = {p.name: p.stat().st_size for p in self.folder.glob("*.log")}

    @property
    def url(self) -> str:
        """The queue URL as passed on command lines: without the password."""
        return self.server.url_without_password

    @property
    def config(self) -> QueueConfig:
        return QueueConfig(self.url, self.server.password, self.secret.encode())

    def env(self, **extra: str) -> dict[str, str]:
        return {**os.environ, "RESEARCH_HUB_LAB_SECRET": self.secret,
                "RESEARCH_HUB_REDIS_PASSWORD": self.server.password, "HF_HUB_OFFLINE": "1",
                "TRANSFORMERS_OFFLINE": "1", "PYTHONUNBUFFERED": "1", **extra}

    def owner(self, workers: int = 0, log_name: str = "owner.log",
              extra: tuple[str, ...] = ()) -> subprocess.Popen[bytes]:
        """The library's owner: commits; ``workers`` local lab workers besides."""
        return self._start(
            engine_command("worker", "--data-dir", str(self.data_dir.root), "--queue", self.url,
                           "--workers", str(workers), *extra),
            self.env(), self.folder / log_name)

    def remote(self, name: str, workers: int = 1) -> subprocess.Popen[bytes]:
        """A remote worker with a HOME and cache of its own, and no data folder.

        With a ``pool``, a live worker of that name is reused (it is already warm)."""
        if self.pool is not None and name in self.pool and self.pool[name].poll() is None:
            return self.pool[name]
        home = self.folder / name
        home.mkdir(parents=True, exist_ok=True)
        env = self.env(HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"),
                       XDG_DATA_HOME=str(home / ".local" / "share"))
        env.pop("RESEARCH_HUB_DATA_DIR", None)  # a remote machine knows no library
        process = self._start(
            engine_command("worker", "--queue", self.url, "--remote", "--workers", str(workers)),
            env, self.folder / f"{name}.log", cwd=home)
        if self.pool is not None:  # the pool's owner stops it, not this test
            self.processes.remove(process)
            self.pool[name] = process
        return process

    def _start(self, args: list[str], env: dict[str, str], log: Path,
               cwd: Path | None = None) -> subprocess.Popen[bytes]:
        # The worktree's packages must win over the installed ones, wherever it runs.
        env = {**env, "PYTHONPATH": str(REPO) + os.pathsep + env.get("PYTHONPATH", "")}
        with open(log, "ab") as out:
            process = subprocess.Popen(args, cwd=cwd or REPO, stdout=out,
                                       stderr=subprocess.STDOUT, env=env)
        self.processes.append(process)
        return process

    def workers_json(self) -> dict[str, Any]:
        """``research-hub workers --json`` on the owner's machine."""
        out = subprocess.run(
            engine_command("workers", "--json", "--data-dir", str(self.data_dir.root),
                           "--queue", self.url),
            cwd=REPO, env=self.env(), capture_output=True, text=True, timeout=COMMAND_S,
        )
        assert self.server.password not in out.stdout + out.stderr
        assert self.secret not in out.stdout + out.stderr
        return dict(json.loads(out.stdout))

    def log(self, name: str) -> str:
        path = self.folder / name
        if not path.exists():
            return ""
        with open(path, "rb") as f:
            f.seek(self.marks.get(name, 0))
            return f.read().decode(errors="replace")

    def logs(self) -> str:
        return "".join(self.log(p.name) for p in self.folder.glob("*.log"))


def worker_pids(process: subprocess.Popen[bytes]) -> list[int]:
    """The consumer's process and every process it started."""
    return [p.pid for p in process_tree(process.pid)]
