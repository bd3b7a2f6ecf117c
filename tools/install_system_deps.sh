#!/usr/bin/env bash
# Installs the Debian packages the embedded corpora and speed perturbation use
# (speech synthesisers and sox), if any is missing. Needs apt-get and root.
set -euo pipefail
packages=(flite espeak-ng sox)
tools=(flite espeak-ng sox)
missing=()
for i in "${!tools[@]}"; do
    command -v "${tools[$i]}" >/dev/null 2>&1 || missing+=("${packages[$i]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: ${missing[*]} not found and apt-get is not available; install them" \
        "with your system's package manager" >&2
    exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "error: ${missing[*]} not found; install them as root:" \
        "sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi
echo "[install_system_deps] apt-get install -y ${missing[*]}" >&2
apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
