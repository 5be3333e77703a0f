#!/usr/bin/env bash
# Prints the path of a Python 3.10 interpreter: python3.10 on PATH, else pyenv's 3.10.x.
# Rasa 3.6.21 supports only Python < 3.11, so nothing newer will do.
set -u

is_py310() {
  "$1" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 10) else 1)' >/dev/null 2>&1
}

if command -v python3.10 >/dev/null 2>&1 && is_py310 python3.10; then
  # Resolve pyenv shims to the real interpreter so the venv doesn't depend on them.
  python3.10 -c 'import sys; print(sys.executable)'
  exit 0
fi

pyenv_root="${PYENV_ROOT:-}"
if [ -z "$pyenv_root" ] && command -v pyenv >/dev/null 2>&1; then
  pyenv_root="$(pyenv root 2>/dev/null)"
fi
[ -n "$pyenv_root" ] || pyenv_root="$HOME/.pyenv"
for candidate in $(ls -d "$pyenv_root"/versions/3.10.*/bin/python3.10 2>/dev/null | sort -V -r); do
  if is_py310 "$candidate"; then
    echo "$candidate"
    exit 0
  fi
done

cat >&2 <<'MSG'
error: Python 3.10 not found.
Meso Assistant runs on Rasa 3.6.21, which supports only Python 3.8-3.10.
Looked for `python3.10` on PATH and for pyenv versions under $PYENV_ROOT/versions/3.10.*.
Install one, then run make again:
  - Debian/Ubuntu:  sudo apt-get install python3.10 python3.10-venv   (or the deadsnakes PPA)
  - pyenv:          pyenv install 3.10.13
MSG
exit 1
