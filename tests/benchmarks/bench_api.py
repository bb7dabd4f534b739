"""The local API under the original plan's load: uploads at once, status reads, live events.

Starts a real ``research-hub serve`` (uvicorn, a free loopback port) on a fresh
library, without a worker, and measures over loopback:

* **uploads**: ``--uploads`` (100) distinct generated PDFs posted at once, each
  on its own connection, twice: with httpx, and with a bare HTTP/1.1 client
  (the server's own time, without the client's CPU); every response's time
  (p50/p95/p99/max), then a check that there are as many distinct paper ids,
  each registered exactly once (one paper per SHA-256) and queued exactly once;
* **status reads**: ``GET /api/v1/papers/{id}`` at a fixed ``--rate`` (1,000/s)
  for ``--seconds`` (10), open loop: each request's latency counts from the
  moment it was due, so a server that falls behind shows it in the tail
  instead of slowing the load down; reports the rate achieved;
* **events**: a status change committed through the store (another process's
  connection, as the worker commits), ``--events`` (200) times, and the time
  until a WebSocket client has the message (p50/p95/max).

Prints tables; asserts nothing.

    HF_HUB_OFFLINE=1 python tests/benchmarks/bench_api.py [--uploads 100] [--rate 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import hashlib
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(HERE))

import httpx  # noqa: E402
import websockets  # noqa: E402

from tests.helpers.api_server import ApiServer, start_server  # noqa: E402
from tests.helpers.pdfgen import TOPIC_PAGES, make_pdf  # noqa: E402
from workers.engine import IngestQueue  # noqa: E402
from workers.paths import DataDir  # noqa: E402
from workers.store import Library  # noqa: E402


def size_kb(files: list[Path]) -> float:
    return sum(f.stat().st_size for f in files) / len(files) / 1024


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def row(name: str, values: list[float], unit: float = 1000.0) -> str:
    return (f"| {name} | {len(values)} | {statistics.median(values) * unit:.1f} | "
            f"{pct(values, 95) * unit:.1f} | {pct(values, 99) * unit:.1f} | "
            f"{max(values) * unit:.1f} |")


# -- uploads ----------------------------------------------------------------------------------


async def uploads_httpx(server: ApiServer, files: list[Path]
                        ) -> tuple[list[float], list[dict], float]:
    """Every file posted at once with httpx (its own multipart encoding and connections)."""
    limits = httpx.Limits(max_connections=len(files), max_keepalive_connections=len(files))
    async with httpx.AsyncClient(base_url=server.url, headers=server.auth, timeout=120,
                                 limits=limits) as client:
        datas = [f.read_bytes() for f in files]
        gate = asyncio.Event()

        async def one(name: str, data: bytes) -> tuple[float, dict]:
            await gate.wait()
            started = time.perf_counter()
            answer = await client.post("/api/v1/papers", files={"file": (name, data)})
            elapsed = time.perf_counter() - started
            assert answer.status_code == 202, answer.text
            return elapsed, answer.json()

        tasks = [asyncio.create_task(one(f.name, d)) for f, d in zip(files, datas, strict=True)]
        await asyncio.sleep(0.2)  # every request ready; then all at once
        wall = time.perf_counter()
        gate.set()
        done = await asyncio.gather(*tasks)
        wall = time.perf_counter() - wall
    return [t for t, _ in done], [b for _, b in done], wall


async def uploads_raw(server: ApiServer, files: list[Path]
                      ) -> tuple[list[float], list[dict], float]:
    """Every file at once on connections opened beforehand, each request's bytes written
    in one go: what the server takes, without a client's own CPU in the figure (httpx
    spends milliseconds per request encoding it, which a 2-core machine shares)."""
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    boundary = "bench-api-boundary"
    requests = []
    for f in files:
        payload = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                   f'filename="{f.name}"\r\nContent-Type: application/pdf\r\n\r\n').encode()
        payload += f.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
        requests.append(
            (f"POST /api/v1/papers HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer "
             f"{server.token}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n"
             f"Content-Length: {len(payload)}\r\n\r\n").encode() + payload)
    connections = [await asyncio.open_connection(host, int(port)) for _ in files]

    async def one(connection: tuple[asyncio.StreamReader, asyncio.StreamWriter],
                  request: bytes) -> tuple[float, dict]:
        reader, writer = connection
        started = time.perf_counter()
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(int(line[15:]) for line in head.split(b"\r\n")
                      if line[:15].lower() == b"content-length:")
        body = json.loads(await reader.readexactly(length))
        elapsed = time.perf_counter() - started
        assert head.split(b" ", 2)[1] == b"202", head
        writer.close()
        return elapsed, body

    wall = time.perf_counter()
    done = await asyncio.gather(*(one(c, r) for c, r in zip(connections, requests, strict=True)))
    wall = time.perf_counter() - wall
    return [t for t, _ in done], [b for _, b in done], wall


def check_uploads(data_dir: DataDir, files: list[Path], bodies: list[dict]) -> str:
    ids = [b["paper_id"] for b in bodies]
    library = Library(data_dir)
    shas = {hashlib.sha256(f.read_bytes()).hexdigest() for f in files}
    papers = [p for p in library.papers() if p.sha256 in shas]
    with IngestQueue(data_dir) as queue:
        queued = collections.Counter(t.args[0] for t in queue.huey.pending() if t.args)
    distinct = len(set(ids))
    once = len(papers) == len(files) and {p.id for p in papers} == set(ids)
    queued_once = all(queued[i] == 1 for i in ids)
    fresh = sum(b["duplicate_of"] is None for b in bodies)
    return (f"{distinct} distinct paper ids for {len(files)} uploads; registered exactly once:"
            f" {'yes' if once else 'NO'}; queued exactly once: {'yes' if queued_once else 'NO'};"
            f" answered as new papers: {fresh}")


# -- status reads ------------------------------------------------------------------------------


class KeepAlive:
    """One keep-alive HTTP/1.1 connection that sends a GET and reads the answer.

    The load generator of the status reads: httpx spends about 2 ms of CPU per
    request here, so on a 2-core machine it, not the server, would set the rate.
    This writes a fixed request and reads the status line, the headers and
    ``Content-Length`` bytes of body: the least a client can do.
    """

    def __init__(self, host: str, port: int, headers: dict[str, str]) -> None:
        self.host, self.port = host, port
        self.extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def get(self, path: str) -> int:
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                          f"{self.extra}\r\n".encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        if length:
            await self.reader.readexactly(length)
        return int(head.split(b" ", 2)[1])

    def close(self) -> None:
        self.writer.close()


async def status_reads(server: ApiServer, ids: list[int], rate: float, seconds: float,
                       connections: int) -> tuple[list[float], list[float], float, int]:
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    latencies: list[float] = []
    service: list[float] = []
    errors = 0
    total = int(rate * seconds)
    clients = [KeepAlive(host, int(port), server.auth) for _ in range(connections)]
    for client in clients:
        await client.open()
        await client.get(f"/api/v1/papers/{ids[0]}")  # first-use costs
    queue: asyncio.Queue[tuple[int, float] | None] = asyncio.Queue()

    async def worker(client: KeepAlive) -> None:
        nonlocal errors
        while (item := await queue.get()) is not None:
            paper_id, due = item
            sent = time.perf_counter()
            status = await client.get(f"/api/v1/papers/{paper_id}")
            done = time.perf_counter()
            latencies.append(done - due)
            service.append(done - sent)
            errors += status != 200

    workers = [asyncio.create_task(worker(c)) for c in clients]
    start = time.perf_counter()
    for n in range(total):
        due = start + n / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait((ids[n % len(ids)], due))
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    elapsed = time.perf_counter() - start
    for client in clients:
        client.close()
    return latencies, service, len(latencies) / elapsed, errors


# -- events -------------------------------------------------------------------------------------


async def event_latency(server: ApiServer, data_dir: DataDir, paper_id: int,
                        count: int) -> list[float]:
    library = Library(data_dir)
    delays: list[float] = []
    async with websockets.connect(server.ws_url, additional_headers=server.auth) as ws:
        assert json.loads(await ws.recv())["type"] == "hello"
        for n in range(count):
            cancel = n % 2 == 0
            await asyncio.to_thread(library.cancel if cancel else library.retry, [paper_id])
            committed = time.perf_counter()
            want = "cancelled" if cancel else "pending"
            while True:
                message = json.loads(await ws.recv())
                if message.get("id") == paper_id and message.get("status") == want:
                    break
            delays.append(time.perf_counter() - committed)
            # Changes one by one, as a worker makes them, at random moments: a fixed pause
            # would lock in step with the feed's 50 ms look and always land just after it.
            await asyncio.sleep(random.uniform(0.02, 0.12))
    library.close()
    return delays


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--uploads", type=int, default=100,
                        help="uploads at once, with each client (default 100)")
    parser.add_argument("--rate", type=float, default=1000.0, help="status reads per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=16,
                        help="keep-alive connections for the status reads")
    parser.add_argument("--events", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
        root = Path(tmp)
        data_dir = DataDir.resolve(root / "data").ensure()
        folder = root / "pdfs"
        folder.mkdir()
        files = [make_pdf(folder / f"paper-{i:03d}.pdf", TOPIC_PAGES, title=f"Paper {i}",
                          salt=f"bench {i}") for i in range(2 * args.uploads)]
        server = start_server(data_dir, root / "serve.log")
        try:
            half = len(files) // 2
            print(f"\n## {half} uploads at once, twice ({size_kb(files):.1f} kB PDFs each,"
                  " distinct)\n")
            print("| client | n | p50 ms | p95 ms | p99 ms | max ms | all answered in |\n"
                  "|---|---:|---:|---:|---:|---:|---:|")
            bodies = []
            for name, run, batch in (("httpx", uploads_httpx, files[:half]),
                                     ("bare HTTP/1.1", uploads_raw, files[half:])):
                times, answers, wall = asyncio.run(run(server, batch))
                bodies += answers
                print(row(f"POST /api/v1/papers, {name}", times) + f" {wall:.2f} s |")
            print("\n" + check_uploads(data_dir, files, bodies))

            ids = sorted({b["paper_id"] for b in bodies})
            latencies, service, achieved, errors = asyncio.run(status_reads(
                server, ids, args.rate, args.seconds, args.connections))
            print(f"\n## status reads: {args.rate:.0f}/s asked for {args.seconds:.0f} s,"
                  f" {achieved:.0f}/s achieved, {errors} errors (latency from when each was due)\n")
            print("| | n | p50 ms | p95 ms | p99 ms | max ms |\n|---|---:|---:|---:|---:|---:|")
            print(row("GET /api/v1/papers/{id}, from when it was due", latencies))
            print(row("the same, from when it was sent", service))

            delays = asyncio.run(event_latency(server, data_dir, ids[0], args.events))
            print("\n## a committed status change until a WebSocket client has it\n")
            print("| | n | p50 ms | p95 ms | p99 ms | max ms |\n|---|---:|---:|---:|---:|---:|")
            print(row("store commit -> WS message", delays))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
