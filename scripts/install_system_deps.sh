#!/usr/bin/env bash
# Install the system packages pbitkit needs (ngspice 39 and its shared library) when they are missing.
set -euo pipefail
missing=()
command -v ngspice >/dev/null 2>&1 || missing+=(ngspice)
if ! ldconfig -p 2>/dev/null | grep -q 'libngspice.so.0'; then missing+=(libngspice0); fi
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
echo "pbitkit: installing system packages: ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo DEBIAN_FRONTEND=noninteractive apt-get update -qq
  sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "pbitkit: missing system packages: ${missing[*]}" >&2
  echo "  install them as root:  apt-get install -y ${missing[*]}" >&2
  exit 1
fi
