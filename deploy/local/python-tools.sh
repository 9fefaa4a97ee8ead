#!/usr/bin/env bash
# Python tools in a virtualenv of their own, (re)installed from
# python-requirements.txt when it changes; prints the virtualenv's bin
# directory. The reporting tests run libcoveocds (the OCDS validator,
# offline) and the analyst example (confluent-kafka) from there.
#
#   deploy/local/python-tools.sh     install if needed, print <venv>/bin
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
REQUIREMENTS="$HERE/python-requirements.txt"
VENV="${BLANGKON_PYTHON_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/blangkon/python-venv}"
STAMP="$VENV/.blangkon-requirements"
if ! cmp -s "$REQUIREMENTS" "$STAMP" 2>/dev/null; then
  echo "installing Python tools into $VENV ..." >&2
  python3 -m venv "$VENV" >&2
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQUIREMENTS" >&2
  cp "$REQUIREMENTS" "$STAMP"
fi
echo "$VENV/bin"
