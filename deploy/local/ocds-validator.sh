#!/usr/bin/env bash
# The OCDS validator (libcoveocds, from PyPI) in a virtualenv of its own,
# installed once; prints the path of its command. The reporting tests run it
# offline against the schema zip in services/reporting/tests/data.
#
#   deploy/local/ocds-validator.sh     install if needed, print the command
set -euo pipefail

VENV="${BLANGKON_OCDS_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/blangkon/ocds-venv}"
if [ ! -x "$VENV/bin/libcoveocds" ]; then
  echo "installing libcoveocds into $VENV (first time only)..." >&2
  python3 -m venv "$VENV" >&2
  "$VENV/bin/pip" install --quiet --disable-pip-version-check 'libcoveocds==0.17.0' >&2
fi
echo "$VENV/bin/libcoveocds"
