"""What every benchmark starts on loopback: a scratch database, gunicorn with the production settings, wrk."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))  # benchmarks run as scripts from anywhere

from sqlalchemy import create_engine, text  # noqa: E402

from core.migrations import upgrade_database  # noqa: E402
from core.settings import Settings  # noqa: E402
from tests.support.processes import free_port, process_tree, settings_env, wait_until  # noqa: E402

PG_ADMIN = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/8")
BENCH_TOKEN = "gongzhi-bench-token"
LUA_DIR = Path(__file__).resolve().parent / "wrk"


def machine() -> str:
    """The machine a result was measured on, for its line in bench/RESULTS.md."""
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def now() -> str:
    return f"{datetime.now():%Y-%m-%d %H:%M}"


@contextlib.contextmanager
def scratch_database(prefix: str = "gongzhi_bench") -> Iterator[str]:
    """A new PostgreSQL database at the migrations' head, dropped afterwards; yields its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    try:
        upgrade_database(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def production_settings(database_url: str, media_dir: str, **overrides: object) -> Settings:
    """Settings as production has them (APP_ENV=production), on loopback services."""
    values: dict[str, object] = {
        "app_env": "production",
        "database_url": database_url,
        "redis_url": REDIS_URL,
        "media_dir": media_dir,
        "secret_key": "bench-" + uuid.uuid4().hex,
        "public_base_url": "https://gongzhi.example.cn",
        "wechat_token": BENCH_TOKEN,
        "wechat_app_id": "wxbench",
        "wechat_app_secret": "bench-secret",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


class Gunicorn:
    """`gunicorn APP` with the project's gunicorn.conf.py on a free loopback port, in its own process group."""

    def __init__(self, app: str, env: dict[str, str], log_path: Path, ready_path: str = "/") -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - open for the process's lifetime
        env = {**env, "GUNICORN_BIND": f"127.0.0.1:{self.port}", "PYTHONPATH": str(PROJECT_ROOT)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(PROJECT_ROOT / "gunicorn.conf.py"), app],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until(lambda: self._answers(ready_path), timeout=60, what=f"gunicorn {app} to answer (log: {log_path})")

    def _answers(self, path: str) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {self.log_path.read_text(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(self.base_url + path, timeout=2):
                return True
        except urllib.error.HTTPError:
            return True  # it answered, if not with 2xx: the app is up
        except OSError:
            return False

    def pids(self) -> list[int]:
        """The master and its workers."""
        return process_tree(self.process.pid)

    def rss_mb(self) -> float:
        """Resident memory of the master and all its workers, in MB."""
        return sum(rss_mb(pid) for pid in self.pids())

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._log.close()

    def __enter__(self) -> Gunicorn:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def project_app(settings: Settings, log_path: Path) -> Gunicorn:
    """The whole service (`wsgi:create_app()`) under gunicorn, configured by the environment as in production."""
    return Gunicorn("wsgi:create_app()", settings_env(settings), log_path, ready_path="/healthz")


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


@dataclass
class Load:
    """What wrk saw: requests, rate, latency percentiles (ms), answers slower than 1 s and 5 s, errors."""

    requests: int
    seconds: float
    rate: float
    p50: float
    p95: float
    p99: float
    max: float
    over_1s: int
    over_5s: int
    errors: int
    non_2xx: int

    def cells(self) -> str:
        return (
            f"{self.rate:,.0f} | {self.p50:.1f} ms | {self.p99:.1f} ms | {self.over_1s} | {self.over_5s} | "
            f"{self.errors + self.non_2xx}"
        )


def wrk_binary() -> str:
    binary = shutil.which("wrk")
    if not binary:
        raise SystemExit("wrk is not installed: run `make bench-setup` (Debian's wrk package) first")
    return binary


def run_wrk(url: str, script: str, connections: int, seconds: int, threads: int = 2) -> Load:
    """Drive `url` with wrk from its own process: `script` (Lua) makes the requests; bench/wrk/report.lua
    adds a `done` that prints the figures as one JSON line."""
    report = (LUA_DIR / "report.lua").read_text(encoding="utf-8")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False, encoding="utf-8") as lua:
        lua.write(script + "\n" + report)
    try:
        finished = subprocess.run(
            [
                wrk_binary(),
                f"-t{min(threads, connections)}",
                f"-c{connections}",
                f"-d{seconds}s",
                "--timeout",
                "10s",
                "-s",
                lua.name,
                url,
            ],
            capture_output=True,
            text=True,
        )
    finally:
        os.unlink(lua.name)
    if finished.returncode:
        raise RuntimeError(f"wrk failed: {finished.stdout}{finished.stderr}")
    line = next(row for row in finished.stdout.splitlines() if row.startswith("{"))
    data = json.loads(line)
    return Load(
        requests=data["requests"],
        seconds=data["seconds"],
        rate=data["requests"] / data["seconds"],
        p50=data["p50"] / 1000,
        p95=data["p95"] / 1000,
        p99=data["p99"] / 1000,
        max=data["max"] / 1000,
        over_1s=data["over_1s"],
        over_5s=data["over_5s"],
        errors=data["errors"],
        non_2xx=data["status"],
    )


# sha1 and signed_query(tag, openid) for wrk scripts, which need a local TOKEN before them.
SIGN_LUA = (Path(__file__).resolve().parent / "wrk" / "sign.lua").read_text(encoding="utf-8")


def lua_string(value: str) -> str:
    """`value` as a Lua string literal."""
    return json.dumps(value, ensure_ascii=False)


def wait_for_quiet(seconds: float = 1.0) -> None:
    """A pause between runs, so one run's stragglers do not land in the next."""
    time.sleep(seconds)
