#!/usr/bin/env bash
# Installs what ddprun and its test suite need on Debian/Ubuntu, as root or through sudo:
# PyTorch through `ddprun doctor --fix` (only when no Python has torch), then the system tools the
# tests drive for real: iproute2 (network namespaces), util-linux (setpriv), Slurm and munge, Chromium, and
# python3-tqdm (a real tqdm loop in the progress tests).
set -euo pipefail
cd "$(dirname "$0")/.."
npm run build --silent
node dist/cli/main.js doctor --fix

sudo=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null; then sudo=sudo; fi
if command -v apt-get >/dev/null; then
  need=()
  command -v ip >/dev/null || need+=(iproute2)
  command -v setpriv >/dev/null || need+=(util-linux)
  command -v slurmctld >/dev/null || need+=(slurmctld)
  command -v slurmd >/dev/null || need+=(slurmd)
  command -v sbatch >/dev/null || need+=(slurm-client)
  command -v munged >/dev/null || need+=(munge)
  # The progress-bar tests run a real tqdm loop under the system Python (the one with Debian's torch).
  if [ -x /usr/bin/python3 ] && ! /usr/bin/python3 -c 'import tqdm' 2>/dev/null; then need+=(python3-tqdm); fi
  # The dashboard's browser tests drive Debian's Chromium (playwright cannot download its own here).
  [ -x /usr/bin/chromium ] || need+=(chromium)
  if [ ${#need[@]} -gt 0 ]; then
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
  fi
else
  echo "setup: no apt-get here; install iproute2, util-linux, Slurm and munge yourself to run every test" >&2
fi
