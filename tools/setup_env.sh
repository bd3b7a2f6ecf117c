#!/usr/bin/env bash
# Builds the project's Python environment once and prints its path.
#
# Pin sets: requirements.txt is the default (the current ESPnet release);
# ESPNET2_EXT_PINS=NAME selects requirements-NAME.txt instead (e.g. espnet202511, the
# last release for Python 3.11). A pin file names its Python in a `# python: X.Y` line.
#
# The interpreter: $PYTHON if set, else pythonX.Y on PATH, else pyenv's installed X.Y.
# When none is found, one line says what to install.
#
# The environment is keyed on the pin files and the interpreter version: it lives
# outside the clone, in ${ESPNET2_EXT_ENV_ROOT:-~/.cache/espnet2_ext}/env-<hash>, so
# every checkout with the same pins reuses it, and a change of pins builds a new one
# from scratch. A build that was interrupted is detected (no .complete marker) and
# redone. Progress goes to stderr; stdout is only the path, for
# `env=$(tools/setup_env.sh)`.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
log() { echo "[setup_env $(date +%H:%M:%S)] $*" >&2; }

pins=${ESPNET2_EXT_PINS:-}
if [ -z "$pins" ]; then
    pin_file=$root/requirements.txt
else
    pin_file=$root/requirements-$pins.txt
    if [ ! -f "$pin_file" ]; then
        known=$(cd "$root" && ls requirements-*.txt | sed -n 's/^requirements-\(.*\)\.txt$/\1/p' \
            | grep -v '^dev$' | tr '\n' ' ')
        log "error: ESPNET2_EXT_PINS=$pins: no $pin_file; known pin sets: ${known}(or unset)"
        exit 1
    fi
fi
want=$(sed -n 's/^# python: *\([0-9][0-9.]*\) *$/\1/p' "$pin_file" | head -n1)
if [ -z "$want" ]; then
    log "error: $pin_file has no '# python: X.Y' line"
    exit 1
fi

# Prints the path of an interpreter that runs and is Python $want, or nothing.
is_wanted() {
    "$1" -c "import sys; sys.exit(0 if '%d.%d' % sys.version_info[:2] == '$want' else 1)" \
        >/dev/null 2>&1
}
find_python() {
    local candidate
    if [ -n "${PYTHON:-}" ]; then
        is_wanted "$PYTHON" && echo "$PYTHON"
        return 0
    fi
    if candidate=$(command -v "python$want" 2>/dev/null) && is_wanted "$candidate"; then
        echo "$candidate"
        return 0
    fi
    if command -v pyenv >/dev/null 2>&1; then
        for candidate in "$(pyenv root)"/versions/"$want".*/bin/python"$want"; do
            if [ -x "$candidate" ] && is_wanted "$candidate"; then
                echo "$candidate"
                return 0
            fi
        done
    fi
}
python=$(find_python)
if [ -z "$python" ]; then
    if [ -n "${PYTHON:-}" ]; then
        log "error: PYTHON=$PYTHON is not Python $want, which $(basename "$pin_file") needs"
    else
        log "error: Python $want not found (neither python$want on PATH nor in pyenv);" \
            "install it (e.g. 'pyenv install $want') or set PYTHON=/path/to/python$want" \
            "- or use ESPNET2_EXT_PINS=espnet202511 with Python 3.11"
    fi
    exit 1
fi

key=$({ echo "python $want"; cat "$pin_file" "$root/requirements-dev.txt"; } \
    | sha256sum | cut -c1-12)
env_root=${ESPNET2_EXT_ENV_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/espnet2_ext}
env_dir=$env_root/env-$key

mkdir -p "$env_root"
# One builder at a time: a second caller waits here, then finds the finished env.
exec 9>"$env_root/.lock-$key"
flock 9
if [ ! -f "$env_dir/.complete" ]; then
    log "building $env_dir from $(basename "$pin_file") with $python" \
        "(about 5 min and 5.6 GB on a fresh machine)"
    rm -rf "$env_dir"
    "$python" -m venv "$env_dir"
    # pip's index warnings about local mirror folders are noise; real errors still fail.
    "$env_dir/bin/pip" install --disable-pip-version-check --progress-bar off -q \
        -r "$pin_file" -r "$root/requirements-dev.txt" 2>&1 \
        | { grep -v "is ignored: it is neither a file nor a directory" || true; } >&2
    "$env_dir/bin/pip" check >&2
    touch "$env_dir/.complete"
    log "done"
fi
echo "$env_dir"
