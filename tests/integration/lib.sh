# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
# Helpers for integration cases (sourced by runner.sh inside the VM, before each case file).
# Every assertion prints what it expected and what it saw, then fails the case; the runner adds
# the journal lines of unified* units logged since the case started.

export UNIFIED_PROFILE_DIR=/usr/share/unified/profiles

_lib_fail() {
        printf 'FAIL: %s\n' "$1" >&2
        shift
        [ $# -eq 0 ] || printf '  %s\n' "$@" >&2
        return 1
}

_lib_show() {
        # One argument vector as a shell-quoted line, for messages.
        local out
        printf -v out '%q ' "$@"
        echo "${out% }"
}

_lib_output() {
        [ -n "$1" ] || { echo ", no output"; return; }
        printf ', output:\n%s' "$(sed -e 's/^/      /' <<<"$1")"
}

assert_eq() {
        [ "$1" = "$2" ] || _lib_fail "${3:-values differ}" "expected: '$1'" "seen:     '$2'"
}

assert_ne() {
        [ "$1" != "$2" ] || _lib_fail "${3:-values are equal}" "expected anything but: '$1'" "seen:                   '$2'"
}

assert_match() {
        [[ $2 =~ $1 ]] || _lib_fail "${3:-no match}" "expected to match: $1" "seen:              '$2'"
}

assert_ok() {
        local out rc=0
        out=$("$@" 2>&1) || rc=$?
        [ $rc -eq 0 ] && return 0
        _lib_fail "command failed: $(_lib_show "$@")" "expected: exit status 0" "seen:     exit status $rc$(_lib_output "$out")"
}

assert_fail() {
        local out rc=0
        out=$("$@" 2>&1) || rc=$?
        [ $rc -ne 0 ] && return 0
        _lib_fail "command succeeded: $(_lib_show "$@")" "expected: a non-zero exit status" "seen:     exit status 0$(_lib_output "$out")"
}

# wait_until TIMEOUT_SECONDS CMD...: re-runs CMD every 0.1 s until it succeeds.
wait_until() {
        local timeout=$1 deadline now out rc
        shift
        deadline=$(( $(date +%s%N) + ${timeout%.*} * 1000000000 ))
        while :; do
                rc=0
                out=$("$@" 2>&1) || rc=$?
                [ $rc -eq 0 ] && return 0
                now=$(date +%s%N)
                [ "$now" -lt "$deadline" ] || break
                sleep 0.1
        done
        _lib_fail "timed out after ${timeout} s waiting for: $(_lib_show "$@")" \
                "expected: exit status 0" "seen:     exit status $rc$(_lib_output "$out")"
}

# as_user CMD...: runs CMD as the unprivileged user "tester" with a login-like environment, so
# D-Bus peers and polkit see a non-root subject.
as_user() {
        runuser -u tester -- env -i HOME=/home/tester USER=tester LOGNAME=tester SHELL=/bin/bash \
                PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 \
                sh -c 'cd "$HOME" && exec "$@"' as_user "$@"
}

unit_prop() {
        systemctl show -P "$2" "$1"
}

cgroup_file() {
        local cg
        cg=$(systemctl show -P ControlGroup "$1")
        [ -n "$cg" ] || { _lib_fail "unit $1 has no control group (not running?)"; return 1; }
        cat "/sys/fs/cgroup$cg/$2"
}

# journal_since_case [JOURNALCTL_ARGS...]: journal lines logged since the current case started.
journal_since_case() {
        journalctl --sync 2>/dev/null || true
        if [ -n "${_UNIFIED_CASE_CURSOR:-}" ]; then
                journalctl --no-pager -q --after-cursor="$_UNIFIED_CASE_CURSOR" "$@"
        else
                journalctl --no-pager -q -b "$@"
        fi
}

# known_failure REASON: the current case still runs and reports, but a failure is a TAP "# TODO" (a
# known defect, tracked in an open issue) rather than a failed suite. Never to hide a regression: the
# reason says which issue, and a pass is reported as a plain ok.
known_failure() {
        echo "$*" >"${_UNIFIED_TODO_FILE:-/dev/null}"
}

# skip REASON: ends the current case as a TAP SKIP (for cases that need something this run lacks,
# e.g. the package cases when a build tree was copied in instead of the .deb).
skip() {
        echo "$*" >"${_UNIFIED_SKIP_FILE:-/dev/null}"
        exit 77
}
