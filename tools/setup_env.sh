#!/usr/bin/env bash
# Builds the project's Python environment once and prints its path.
#
# The environment is keyed on the pinned requirement files: it lives outside the clone,
# in ${ESPNET2_EXT_ENV_ROOT:-~/.cache/espnet2_ext}/env-<hash>, so every checkout with the
# same pins reuses it, and a change of pins builds a new one from scratch. A build that
# was interrupted is detected (no .complete marker) and redone. Progress goes to stderr;
# stdout is only the path, for `env=$(tools/setup_env.sh)`.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
python=${PYTHON:-python3}
log() { echo "[setup_env $(date +%H:%M:%S)] $*" >&2; }

if ! "$python" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)'; then
    log "error: Python 3.11 is required (the pinned espnet 202511 wheel set); got:" \
        "$("$python" --version 2>&1). Set PYTHON=/path/to/python3.11."
    exit 1
fi

key=$(cat "$root/requirements.txt" "$root/requirements-dev.txt" | sha256sum | cut -c1-12)
env_root=${ESPNET2_EXT_ENV_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/espnet2_ext}
env_dir=$env_root/env-$key

mkdir -p "$env_root"
# One builder at a time: a second caller waits here, then finds the finished env.
exec 9>"$env_root/.lock-$key"
flock 9
if [ ! -f "$env_dir/.complete" ]; then
    log "building $env_dir (about 2.5 min and 5.6 GB on a fresh machine)"
    rm -rf "$env_dir"
    "$python" -m venv "$env_dir"
    # pip's index warnings about local mirror folders are noise; real errors still fail.
    "$env_dir/bin/pip" install --disable-pip-version-check --progress-bar off -q \
        -r "$root/requirements.txt" -r "$root/requirements-dev.txt" 2>&1 \
        | { grep -v "is ignored: it is neither a file nor a directory" || true; } >&2
    "$env_dir/bin/pip" check >&2
    touch "$env_dir/.complete"
    log "done"
fi
echo "$env_dir"
