#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs integration case files inside the VM and writes TAP to stdout.
# Usage: runner.sh CASE_FILE...
#
# Each file is sourced (after lib.sh) in a shell of its own, in the order given. Every function
# named test_* that the file defines is one case, run in definition order, each in a subshell
# with `set -euo pipefail`, reported as one TAP line; a failing case's output follows as `# `
# lines, with the unified* journal lines logged while it ran. Optional setup_file/teardown_file
# run once per file around its cases.

LIB=$(dirname "$(readlink -f "$0")")/lib.sh
CASE_TIMEOUT=${UNIFIED_CASE_TIMEOUT:-900}
STATE=$(mktemp -d /run/unified-runner.XXXXXX)
echo 0 >"$STATE/count"

_diag() { sed -e 's/^/# /'; }

# The case names of the file just sourced, in the order of their definitions.
_cases_of() {
        local file=$1 name line src
        shopt -s extdebug
        declare -F | awk '$3 ~ /^test_/ { print $3 }' | while read -r name; do
                read -r _ line src < <(declare -F "$name")
                [ "$src" -ef "$file" ] && echo "$line $name"
        done | sort -n | awk '{ print $2 }'
        shopt -u extdebug
}

_report() {
        local file=$1 name=$2 rc=$3 out=$4 n
        n=$(( $(cat "$STATE/count") + 1 ))
        echo "$n" >"$STATE/count"
        if [ "$rc" -eq 0 ]; then
                echo "ok $n - $file: $name"
        elif [ "$rc" -eq 77 ]; then
                echo "ok $n - $file: $name # SKIP $(cat "$STATE/skip" 2>/dev/null)"
        else
                if [ -s "$STATE/todo" ]; then
                        echo "not ok $n - $file: $name # TODO $(cat "$STATE/todo")"
                else
                        echo "not ok $n - $file: $name"
                fi
                [ ! -s "$out" ] || _diag <"$out"
                if [ -n "${cursor:-}" ]; then
                        echo "journal of unified* units while the case ran (last 40 lines):" | _diag
                        journalctl --no-pager -q -o short-precise --after-cursor="$cursor" -u 'unified*' 2>&1 |
                                tail -n 40 | _diag
                fi
        fi
}

_setup_failed() {
        local file=$1 rc=$2 name
        shift 2
        { echo "setup_file failed (exit $rc):"; cat "$STATE/out"; } >"$STATE/setup"
        for name in "$@"; do
                _report "$file" "$name" "$rc" "$STATE/setup"
        done
}

# For the ERR trap of a case: the failed command and where in the case file it was.
_where() {
        local rc=$1 cmd=$2 i
        [ "$rc" -eq 77 ] && return 0
        for (( i = 1; i < ${#BASH_SOURCE[@]}; i++ )); do
                if [ "${BASH_SOURCE[$i]}" -ef "$CASE_FILE" ]; then
                        local line=${BASH_LINENO[$((i - 1))]}
                        echo "failed (exit $rc) at ${CASE_FILE##*/}:$line: $(sed -n "${line}{s/^[[:space:]]*//;p}" "$CASE_FILE")" >&2
                        return 0
                fi
        done
        echo "failed (exit $rc): $cmd" >&2
}

_run_file() {
        local path=$1 file name rc cases out t0
        file=$(basename "$path")
        CASE_FILE=$path
        # shellcheck source=lib.sh
        source "$LIB"
        # shellcheck disable=SC1090
        source "$path"
        mapfile -t cases < <(_cases_of "$path")
        out="$STATE/out"

        if declare -F setup_file >/dev/null; then
                # In this shell, so that what it sets is seen by the cases; if it fails, the EXIT
                # trap reports every case of the file as failed.
                trap '_setup_failed "$file" "$?" "${cases[@]}"' EXIT
                set -Eeuo pipefail
                setup_file >"$out" 2>&1
                set +Eeuo pipefail
                trap - EXIT
        fi

        for name in "${cases[@]}"; do
                cursor=$(journalctl -q -n 1 --show-cursor -o cat 2>/dev/null | sed -n 's/^-- cursor: //p')
                t0=$EPOCHREALTIME
                rm -f "$STATE/skip" "$STATE/todo"
                rc=0
                (
                        export _UNIFIED_CASE_CURSOR=$cursor _UNIFIED_SKIP_FILE=$STATE/skip _UNIFIED_TODO_FILE=$STATE/todo
                        set -Eeuo pipefail
                        trap '_where "$?" "$BASH_COMMAND"; trap - ERR' ERR
                        "$name"
                ) >"$out" 2>&1 &
                cpid=$!
                # A hanging case fails alone instead of eating the whole VM's time.
                sleep "$CASE_TIMEOUT" &
                spid=$!
                wait -n -p finished "$cpid" "$spid"
                rc=$?
                if [ "$finished" = "$spid" ]; then
                        kill -TERM "$cpid" 2>/dev/null
                        wait "$cpid" 2>/dev/null
                        echo "case timed out after $CASE_TIMEOUT s (UNIFIED_CASE_TIMEOUT) and was killed" >>"$out"
                        rc=124
                else
                        kill "$spid" 2>/dev/null
                        wait "$spid" 2>/dev/null
                fi
                _report "$file" "$name" "$rc" "$out"
                awk -v a="$t0" -v b="$EPOCHREALTIME" -v c="$file: $name" 'BEGIN { printf "%.1f %s\n", b - a, c }' \
                        >>"$STATE/times"
        done

        if declare -F teardown_file >/dev/null; then
                rc=0
                ( set -euo pipefail; teardown_file ) >"$out" 2>&1 || rc=$?
                [ $rc -eq 0 ] || { echo "teardown_file of $file failed (exit $rc):"; cat "$out"; } | _diag
        fi
}

for path in "$@"; do
        echo "# $(basename "$path")"
        ( _run_file "$path" )
done
# Where the VM's time went (setup_file of a file is not counted): what to look at first when the
# suite grows slow.
if [ -s "$STATE/times" ]; then
        echo "slowest cases (seconds):"
        sort -rn "$STATE/times" | head -n 10
        awk '{ s += $1 } END { printf "%.0f s in %d cases\n", s, NR }' "$STATE/times"
fi | _diag
echo "1..$(cat "$STATE/count")"
rm -rf "$STATE"
