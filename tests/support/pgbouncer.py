"""A real PgBouncer in transaction pooling mode on a loopback port, in front of the test database."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import make_url

from tests.support.processes import free_port, kill_tree, wait_until

BINARY = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


def available() -> bool:
    return Path(BINARY).exists()


@contextmanager
def pgbouncer(database_url: str, server_connections: int = 2) -> Iterator[str]:
    """The URL of `database_url` reached through PgBouncer (pool_mode=transaction)."""
    url = make_url(database_url)
    port = free_port()
    # PgBouncer will not run as root; as root it is told to become `postgres`, who must read this.
    workdir = Path(tempfile.mkdtemp(prefix="gongzhi-pgbouncer-"))
    workdir.chmod(0o755)
    (workdir / "users.txt").write_text(f'"{url.username}" ""\n')
    (workdir / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"{url.database} = host={url.host} port={url.port or 5432} dbname={url.database} user={url.username}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {workdir / 'users.txt'}\n"
        f"pool_mode = transaction\ndefault_pool_size = {server_connections}\nmax_client_conn = 100\n"
    )
    for name in ("users.txt", "pgbouncer.ini"):
        (workdir / name).chmod(0o644)
    command = [BINARY, str(workdir / "pgbouncer.ini")]
    if os.geteuid() == 0:
        command[1:1] = ["-u", "postgres"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until(lambda: _accepts(port) or process.poll() is not None, timeout=30, what="PgBouncer to listen")
        if process.poll() is not None:
            raise RuntimeError(f"PgBouncer did not start: {process.stdout.read().decode(errors='replace')[-2000:]}")  # type: ignore[union-attr]
        yield url.set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
    finally:
        kill_tree(process.pid)
        process.wait()
        shutil.rmtree(workdir, ignore_errors=True)


def _accepts(port: int) -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False
