"""Real gunicorn and nginx processes on loopback for the deploy tests, each stopped with its whole tree."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from core.settings import PROJECT_ROOT, Settings
from tests.support.processes import free_port, kill_tree, settings_env, wait_until

GUNICORN = Path(sys.executable).parent / "gunicorn"
DEPLOY = PROJECT_ROOT / "deploy"
LOCATIONS = DEPLOY / "nginx" / "gongzhi-locations.conf"
LOG_FORMAT = DEPLOY / "nginx" / "log.conf"


def nginx_binary() -> str | None:
    return shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)


def get(port: int, path: str, source: str = "127.0.0.1", headers: dict[str, str] | None = None, method: str = "GET",
        body: bytes | None = None) -> tuple[int, dict[str, str], bytes]:  # fmt: skip
    """One request to 127.0.0.1:`port` from the loopback address `source`; (status, headers, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15, source_address=(source, 0))
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


class Gunicorn:
    """`gunicorn -c gunicorn.conf.py 'wsgi:create_app()'` with these settings, its access log kept."""

    def __init__(self, settings: Settings, workdir: Path, name: str, extra_env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.log_path = workdir / f"{name}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - open for the process's lifetime
        env = settings_env(settings) | {
            "APP_ENV": "development",
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            "WEB_CONCURRENCY": "1",
            "GUNICORN_THREADS": "2",
            "LOG_FORMAT": "json",  # requests_seen reads the access lines
        }
        env |= extra_env or {}
        self.process = subprocess.Popen(
            [
                str(GUNICORN),
                "--config",
                "gunicorn.conf.py",
                "wsgi:create_app()",
            ],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until(self._ready, timeout=60, what=f"gunicorn {name} on port {self.port}")

    def _ready(self) -> bool:
        assert self.process.poll() is None, "gunicorn exited while starting"
        try:
            return get(self.port, "/healthz")[0] == 200
        except OSError:
            return False

    def requests_seen(self) -> list[str]:
        """ "METHOD route status request-id" of each request, from gunicorn's JSON access log on its stdout."""
        seen = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            if line.startswith("{") and '"gunicorn.access"' in line:
                entry = json.loads(line)
                seen.append(f"{entry['method']} {entry['route']} {entry['status']} {entry['request_id']}")
        return seen

    def kill(self) -> None:
        """SIGKILL the master and its workers at once, as a machine dying would."""
        kill_tree(self.process.pid)
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=20)
        kill_tree(self.process.pid)
        self.process.wait()
        self._log.close()


class Nginx:
    """Debian's nginx on a loopback port, in front of `upstreams`, serving deploy/nginx/gongzhi-locations.conf."""

    def __init__(self, upstreams: list[int], workdir: Path) -> None:
        binary = nginx_binary()
        assert binary, "nginx is not installed (scripts/test-setup.sh installs nginx-light)"
        self.port = free_port()
        self.prefix = workdir / "nginx"
        for sub in ("logs", "tmp"):
            (self.prefix / sub).mkdir(parents=True, exist_ok=True)
        servers = "\n".join(f"        server 127.0.0.1:{port} max_fails=1 fail_timeout=10s;" for port in upstreams)
        temp = {name: self.prefix / "tmp" / name for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")}
        conf = f"""
worker_processes 1;
pid {self.prefix}/nginx.pid;
error_log {self.prefix}/logs/error.log warn;
events {{ worker_connections 256; }}
http {{
    include {LOG_FORMAT};
    access_log {self.prefix}/logs/access.log gongzhi;
    client_body_temp_path {temp["client_body"]};
    proxy_temp_path {temp["proxy"]};
    fastcgi_temp_path {temp["fastcgi"]};
    uwsgi_temp_path {temp["uwsgi"]};
    scgi_temp_path {temp["scgi"]};
    upstream gongzhi_web {{
{servers}
        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{self.port};
        include {LOCATIONS};
    }}
}}
"""
        self.conf = self.prefix / "nginx.conf"
        self.conf.write_text(conf)
        self._log = open(self.prefix / "logs" / "stderr.log", "wb")  # noqa: SIM115 - open for the process's lifetime
        self.process = subprocess.Popen(
            [binary, "-p", str(self.prefix), "-c", str(self.conf), "-g", "daemon off;"],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until(self._ready, timeout=30, what=f"nginx on port {self.port}")

    def _ready(self) -> bool:
        assert self.process.poll() is None, (self.prefix / "logs" / "stderr.log").read_text()
        try:
            return get(self.port, "/healthz")[0] == 200
        except OSError:
            return False

    def access_log(self) -> str:
        return (self.prefix / "logs" / "access.log").read_text()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # graceful: workers finish, then the master exits
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=15)
        kill_tree(self.process.pid)
        self.process.wait()
        self._log.close()
