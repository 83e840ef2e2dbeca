"""Benchmark the HTTP gateway transport end to end: a real `jielong run --transport http`
process, messages POSTed by a real client, a local sink taking the bot's sends.

Prints: messages per second and answer latency (p50/p95/max) for chain copies in many groups,
sequential and with concurrent senders, and the bot process's resident memory.

    .venv/bin/python scripts/bench_http.py [--messages 600] [--groups 20] [--concurrency 4] [--db URL]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "bench-http-token-0123456789"
TZ = timezone(timedelta(hours=8))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sink() -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("content-length") or 0))
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def setup_file(folder: Path, groups: int) -> Path:
    names = ", ".join(f'"bench{g}@chatroom"' for g in range(groups))
    text = (ROOT / "bot" / "demo" / "setup.toml").read_text(encoding="utf-8")
    text = text.replace("2026-11-25T09:00:00", "2026-01-01T09:00:00").replace("2026-11-25T22:00:00", "2099-12-31T22:00:00")
    text = text.replace('groups = ["阳光小区3期团购群"]', f"groups = [{names}]")
    path = folder / "setup.toml"
    path.write_text(text, encoding="utf-8")
    return path


def messages(count: int, groups: int, start: int) -> list[dict]:
    """Chain copies growing by one line each, spread over the groups, plus a 汇总 every 50."""
    chains = {g: "#接龙\n周三水果团" for g in range(groups)}
    out = []
    for n in range(start, start + count):
        if n % 50 == 49:
            out.append({"id": f"b{n}", "time": datetime.now(TZ).isoformat(), "from": "wxid_lijie", "name": "李姐",
                        "text": "汇总"})
            continue
        g = n % groups
        seq = chains[g].count("\n")
        chains[g] += f"\n{seq}. {n % 30 + 1}栋{n % 9 + 1}0{n % 4 + 1} 邻居{n} 西瓜{n % 3 + 1}个 阳光玫瑰1串"
        out.append({"id": f"b{n}", "time": datetime.now(TZ).isoformat(), "chat": f"bench{g}@chatroom",
                    "from": f"wxid_n{n}", "name": f"邻居{n}", "text": chains[g]})
    return out


async def post_all(url: str, batch: list[dict], concurrency: int) -> list[float]:
    latencies: list[float] = []
    queue: asyncio.Queue[dict] = asyncio.Queue()
    for m in batch:
        queue.put_nowait(m)
    headers = {"Authorization": f"Bearer {TOKEN}"}

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            m = queue.get_nowait()
            t = time.perf_counter()
            answer = await client.post(url, json=m, headers=headers)
            latencies.append(time.perf_counter() - t)
            assert answer.status_code == 200, answer.text

    async with httpx.AsyncClient(timeout=60) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    return latencies


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def report(label: str, latencies: list[float], seconds: float) -> None:
    ms = sorted(x * 1000 for x in latencies)
    print(f"{label:<28} {len(ms) / seconds:7.1f} msg/s   p50 {statistics.median(ms):6.1f} ms   "
          f"p95 {ms[int(len(ms) * 0.95) - 1]:6.1f} ms   max {ms[-1]:6.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=600)
    parser.add_argument("--groups", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--db", help="database URL (default: a fresh SQLite file)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-http-"))
    db = args.db or f"sqlite:///{folder / 'bench.db'}"
    out = sink()
    port = free_port()
    env = dict(os.environ, JIELONG_HTTP_TOKEN=TOKEN)
    bot = subprocess.Popen(
        [sys.executable, "-c", "from bot.cli import main; main(prog_name='jielong')", "--log-level", "error", "run",
         "--transport", "http", "--listen", f"127.0.0.1:{port}", "--send-url",
         f"http://127.0.0.1:{out.server_address[1]}/send", "--setup", str(setup_file(folder, args.groups)),
         "--db", db], cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert bot.poll() is None and time.monotonic() < deadline, "the bot did not start"
            time.sleep(0.1)
        print(f"database: {db.split('://')[0]}, {args.groups} groups, {args.messages} messages a run")
        asyncio.run(post_all(url + "/v1/messages", messages(20, args.groups, 10**6), 1))  # warm up the parser
        for label, concurrency, start in (("sequential", 1, 0), (f"{args.concurrency} concurrent senders",
                                                                   args.concurrency, args.messages)):
            batch = messages(args.messages, args.groups, start)
            t = time.perf_counter()
            latencies = asyncio.run(post_all(url + "/v1/messages", batch, concurrency))
            report(label, latencies, time.perf_counter() - t)
        print(f"bot process RSS: {rss_mib(bot.pid):.0f} MiB")
    finally:
        bot.terminate()
        bot.wait(timeout=30)
        out.shutdown()


if __name__ == "__main__":
    main()
