"""The container and systemd recipe in deploy/: the entrypoint runs each role, compose and the units hold together."""

from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from core.settings import PROJECT_ROOT

DEPLOY = PROJECT_ROOT / "deploy"
ENTRYPOINT = DEPLOY / "entrypoint.sh"


@pytest.fixture
def fake_bin(tmp_path: Path) -> Path:
    """A PATH of stand-ins for gunicorn, python and flask that write down how they were called."""
    directory = tmp_path / "bin"
    directory.mkdir()
    for name in ("gunicorn", "python", "flask", "bash"):
        script = directory / name
        script.write_text(f'#!/bin/sh\nprintf "%s\\n" "{name}" "$@" > "$CALLED"\n')
        script.chmod(0o755)
    return directory


def run_entrypoint(fake_bin: Path, tmp_path: Path, *args: str) -> list[str]:
    called = tmp_path / "called"
    env = {"PATH": f"{fake_bin}:/usr/bin:/bin", "CALLED": str(called)}
    done = subprocess.run(["/bin/sh", str(ENTRYPOINT), *args], env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return called.read_text().splitlines()


@pytest.mark.parametrize(
    ("args", "runs"),
    [
        ((), ["gunicorn", "--config", "gunicorn.conf.py", "wsgi:create_app()"]),
        (("web",), ["gunicorn", "--config", "gunicorn.conf.py", "wsgi:create_app()"]),
        (("worker",), ["python", "-m", "worker"]),
        (("worker", "--name", "w1"), ["python", "-m", "worker", "--name", "w1"]),
        (("migrate",), ["flask", "--app", "wsgi", "db", "upgrade"]),
        (("check",), ["python", "-m", "worker", "--check"]),
        (("shell",), ["flask", "--app", "wsgi", "shell"]),
        (
            ("flask", "staff", "create", "--username", "ops"),
            ["flask", "--app", "wsgi", "staff", "create", "--username", "ops"],
        ),
        (("bash", "-c", "true"), ["bash", "-c", "true"]),
    ],
)
def test_the_entrypoint_runs_the_command_of_each_role(fake_bin, tmp_path, args, runs):
    assert run_entrypoint(fake_bin, tmp_path, *args) == runs


def test_web_and_worker_start_with_an_empty_metrics_directory(fake_bin, tmp_path):
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    (metrics / "counter_1234.db").write_bytes(b"of a process long gone")
    called = tmp_path / "called"
    env = {"PATH": f"{fake_bin}:/usr/bin:/bin", "CALLED": str(called), "PROMETHEUS_MULTIPROC_DIR": str(metrics)}
    for role in ("web", "worker"):
        subprocess.run(["/bin/sh", str(ENTRYPOINT), role], env=env, check=True, timeout=30)
        assert metrics.is_dir() and not any(metrics.iterdir())
        (metrics / "gauge_live.db").write_bytes(b"x")
    subprocess.run(["/bin/sh", str(ENTRYPOINT), "check"], env=env, check=True, timeout=30)
    assert (metrics / "gauge_live.db").exists()  # the health check leaves the running worker's files alone


def test_the_dockerfile_runs_the_entrypoint_as_a_user_of_its_own_with_chinese_fonts():
    text = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim", text, re.M)
    assert "fonts-noto-cjk" in text
    assert "pip install -r /app/requirements.txt" in text
    users = re.findall(r"^USER (\S+)", text, re.M)
    assert users and users[-1] not in ("root", "0")
    assert 'ENTRYPOINT ["/app/deploy/entrypoint.sh"]' in text
    assert os.access(ENTRYPOINT, os.X_OK)


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def test_every_long_running_service_has_a_health_check_and_waits_for_healthy_ones():
    services = compose()["services"]
    assert {"nginx", "web", "worker", "postgres", "redis", "minio", "migrate"} <= set(services)
    one_shots = {name for name, service in services.items() if service.get("restart") == "no"}
    assert one_shots == {"migrate", "minio-init"}
    for name, service in services.items():
        if name not in one_shots:
            assert service.get("healthcheck", {}).get("test"), f"{name} has no health check"
        for needed, condition in (service.get("depends_on") or {}).items():
            want = "service_completed_successfully" if needed in one_shots else "service_healthy"
            assert condition == {"condition": want}, f"{name} → {needed}"
    assert services["web"]["healthcheck"]["test"][-1].endswith("/readyz")
    assert services["worker"]["healthcheck"]["test"][-1] == "check"  # entrypoint: python -m worker --check
    assert "pg_isready" in services["postgres"]["healthcheck"]["test"]
    assert "redis-cli ping" in " ".join(services["redis"]["healthcheck"]["test"])
    assert services["web"]["deploy"]["replicas"] >= 2 and services["worker"]["deploy"]["replicas"] >= 2
    assert set(services["web"]["depends_on"]) >= {"postgres", "redis", "migrate"}
    assert set(services["nginx"]["depends_on"]) == {"web"}


def test_redis_keeps_its_jobs_and_asks_for_a_password():
    command = " ".join(compose()["services"]["redis"]["command"])
    assert "--requirepass" in command and "--appendonly yes" in command


def test_secrets_come_from_the_env_file_and_none_has_a_default():
    text = (DEPLOY / "compose.yaml").read_text()
    services = compose()["services"]
    for name in ("migrate", "web", "worker"):
        assert services[name]["env_file"] == ".env"
    for secret in ("POSTGRES_PASSWORD", "REDIS_PASSWORD", "MINIO_ROOT_PASSWORD", "MINIO_ROOT_USER"):
        uses = re.findall(r"\$\{" + secret + r"(:?[-?][^}]*)?\}", text)
        assert uses and all(use.startswith(":?") for use in uses), secret  # required, never defaulted
    for name, service in services.items():
        for key, value in (service.get("environment") or {}).items():
            if re.search("PASSWORD|SECRET", key):
                assert str(value).startswith("${"), f"{name}: {key} is given a value in compose.yaml"
    example = (DEPLOY / "env.example").read_text()
    for line in example.splitlines():
        if re.match(r"^\w*(PASSWORD|SECRET|KEY|TOKEN)\w*=", line):
            assert line.endswith("="), f"env.example gives a value: {line}"


def test_compose_mounts_the_nginx_files_that_exist():
    for volume in compose()["services"]["nginx"]["volumes"]:
        source = volume.split(":")[0]
        if source.startswith("./"):
            assert (DEPLOY / source).is_file(), source


UNITS = DEPLOY / "systemd"


def installed_units(tmp_path: Path) -> Path:
    """The units as installed on a machine whose checkout is this one and whose venv is ours."""
    target = tmp_path / "units"
    target.mkdir()
    venv_bin = str(Path(sys.executable).parent) + "/"
    for unit in UNITS.iterdir():
        text = unit.read_text().replace("/srv/gongzhi/.venv/bin/", venv_bin).replace("/srv/gongzhi", str(PROJECT_ROOT))
        (target / unit.name).write_text(text)
    for template, instance in (("gongzhi-web@.service", "8001"), ("gongzhi-worker@.service", "1")):
        shutil.copy(target / template, target / template.replace("@", f"@{instance}"))
    return target


def test_the_units_start_the_same_commands_as_the_image(tmp_path):
    parsed = {}
    for unit in UNITS.iterdir():
        parser = configparser.ConfigParser(strict=False, interpolation=None)
        parser.optionxform = str  # type: ignore[assignment,method-assign]
        parser.read(unit)
        parsed[unit.name] = parser
    assert set(parsed) == {
        "gongzhi-web@.service",
        "gongzhi-worker@.service",
        "gongzhi-migrate.service",
        "gongzhi.target",
    }
    web, worker = parsed["gongzhi-web@.service"]["Service"], parsed["gongzhi-worker@.service"]["Service"]
    assert "gunicorn --config gunicorn.conf.py wsgi:create_app()" in web["ExecStart"]
    assert "Environment=GUNICORN_BIND=127.0.0.1:%i" in (UNITS / "gongzhi-web@.service").read_text()
    assert "-m worker" in worker["ExecStart"]
    assert "db upgrade" in parsed["gongzhi-migrate.service"]["Service"]["ExecStart"]
    for name in ("gongzhi-web@.service", "gongzhi-worker@.service", "gongzhi-migrate.service"):
        service = parsed[name]["Service"]
        assert service["User"] == "gongzhi" and service["EnvironmentFile"] == "/etc/gongzhi/gongzhi.env"
    upstream = (DEPLOY / "nginx" / "upstream.conf").read_text()
    wanted = parsed["gongzhi.target"]["Unit"]["Wants"].split()
    ports = [w.split("@")[1].split(".")[0] for w in wanted if w.startswith("gongzhi-web@")]
    assert ports and all(f"127.0.0.1:{port}" in upstream for port in ports)  # nginx knows every web instance


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_finds_nothing_wrong_in_the_units(tmp_path):
    units = installed_units(tmp_path)
    names = ["gongzhi-web@8001.service", "gongzhi-worker@1.service", "gongzhi-migrate.service", "gongzhi.target"]
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *(f"./{name}" for name in names)],
        cwd=units,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr
