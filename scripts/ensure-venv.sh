#!/usr/bin/env bash
# Creates the virtualenv; on Debian, installs python3-venv first when it is missing and we may.
set -euo pipefail
python=${1:-python3}
venv=${2:-.venv}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "共治 needs Python 3.11 or newer; '$python' is $("$python" --version 2>&1)." >&2
  exit 1
fi
if ! "$python" -m venv "$venv" 2>/dev/null; then
  rm -rf "$venv"
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "Installing python3-venv (Debian's venv support) ..."
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    "$python" -m venv "$venv"
  else
    echo "Cannot create a virtualenv: install Debian's python3-venv (sudo apt-get install python3-venv)." >&2
    exit 1
  fi
fi
"$venv/bin/python" -m pip install --disable-pip-version-check -q --upgrade "pip>=24"
