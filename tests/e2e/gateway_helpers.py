"""For the HTTP gateway end-to-end tests: a fake vendor (a real HTTP server that records what the
bot sends and can fail on purpose), the `jielong run --transport http` process, native 接龙 XML."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

import httpx

ROOT = Path(__file__).resolve().parents[2]
JIELONG = [sys.executable, "-c", "from bot.cli import main; main(prog_name='jielong')"]
TOKEN = "e2e-http-token-0123456789"
GEWE_TOKEN = "gewe-vendor-token-abcdef"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Sent:
    path: str
    headers: dict[str, str]
    body: dict
    status: int


@dataclass
class FakeVendor:
    """Answers every POST; the first `fail_first` get HTTP 500 (or `hang_first` never answer in
    time). `gewe` answers the way gewe does ({"ret": 200, …})."""

    fail_first: int = 0
    gewe: bool = False
    attempts: list[Sent] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        vendor = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"{}")
                with vendor._lock:
                    failing = len(vendor.attempts) < vendor.fail_first
                    status = 500 if failing else 200
                    vendor.attempts.append(Sent(self.path, dict(self.headers), body, status))
                answer = {"ret": 200, "msg": "操作成功"} if vendor.gewe else {"ok": True}
                payload = json.dumps(answer if not failing else {"error": "down"}).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def delivered(self) -> list[Sent]:
        with self._lock:
            return [s for s in self.attempts if s.status == 200]

    def wait_for(self, predicate, timeout: float = 20.0) -> Sent:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for sent in self.delivered():
                if predicate(sent):
                    return sent
            time.sleep(0.05)
        raise AssertionError(f"the vendor never got it; attempts: {self.attempts}")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class BotProcess:
    """`jielong run --transport http …` as an operator runs it, in its own process."""

    def __init__(self, db: str, setup: Path | None, send_url: str, *, vendor: str = "neutral",
                 env: dict[str, str] | None = None, port: int | None = None, extra: tuple[str, ...] = ()):
        self.port = port or free_port()
        args = [*JIELONG, "run", "--transport", "http", "--listen", f"127.0.0.1:{self.port}",
                "--send-url", send_url, "--vendor", vendor, "--db", db, "--bot-id", "wxid_bot", *extra]
        if setup is not None:
            args += ["--setup", str(setup)]
        full_env = dict(os.environ, JIELONG_HTTP_TOKEN=TOKEN, **(env or {}))
        self.proc = subprocess.Popen(args, cwd=ROOT, env=full_env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self.output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.output.append(line)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, "".join(self.output)
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError("the bot never answered /healthz:\n" + "".join(self.output))

    def post(self, message: dict, *, path: str = "/v1/messages", token: str | None = TOKEN) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.post(self.url + path, json=message, headers=headers, timeout=30)

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=10)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=30)

    def text(self) -> str:
        return "".join(self.output)


def native_chain_xml(title: str, authors: list[str], lines: list[str]) -> str:
    """A native 接龙 (appmsg type 53) as WeChat sends it: the chain in <title>, each entry's
    author, time and character range (in the title) in <solitaire_info>."""
    text = title + "\n\n" + "\n".join(lines)
    items = []
    for author, line in zip(authors, lines, strict=True):
        start = text.index(line)
        items.append(f"<i><u>{author}</u><h>0</h><s>.</s><t>1764036000</t><r>{start}-{len(line)}</r></i>")
    info = (f"<solitaire><tt>0-{len(title)}</tt><au>{authors[0]}</au><content><s>{len(lines)}</s>"
            + "".join(items) + "</content></solitaire>")
    return ('<?xml version="1.0"?>\n<msg>\n\t<appmsg appid="" sdkver="0">\n'
            f"\t\t<title>{escape(text)}</title>\n\t\t<type>53</type>\n"
            f"\t\t<extinfo>\n\t\t\t<solitaire_info><![CDATA[{info}]]></solitaire_info>\n\t\t</extinfo>\n"
            "\t</appmsg>\n</msg>\n")
