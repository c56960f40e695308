#!/bin/sh
# Measures `ddprun gc` after ddprun and its watchdog are both SIGKILLed: 4 ranks, each with 4 children (`sleep`),
# frozen (SIGSTOP) then killed (SIGKILL) together. The ranks die by their parent-death signal; the 16 children and the
# run folder survive until `ddprun gc`. Run from the repository root after `npm run build`; cleans up after itself.
set -eu
T=$(mktemp -d)
mkdir "$T/p"
TMPDIR=$T node test/fixtures/launch/launcher.mjs "{\"entry\":{\"command\":\"sh\",\"args\":[\"-c\",\"for i in 1 2 3 4; do sleep 120 & done; echo \$\$ > $T/p/\$RANK; wait\"]},\"nprocPerNode\":4}" >/dev/null 2>&1 &
L=$!
while [ "$(ls "$T/p" | wc -l)" -lt 4 ]; do sleep 0.1; done
W=$(ps -o pid=,args= --ppid "$L" | awk '/ddprun-watchdog/ {print $1}')
kill -STOP "$L" "$W"
kill -KILL "$W" "$L"
sleep 1
echo "children alive before gc: $(ps -eo args= | grep -c '^sleep 120$' || true)"
s=$(date +%s%N)
TMPDIR=$T node dist/cli/main.js gc
e=$(date +%s%N)
echo "ddprun gc took $(((e - s) / 1000000)) ms"
echo "children alive after gc: $(ps -eo args= | grep -c '^sleep 120$' || true)"
rm -rf "$T"
