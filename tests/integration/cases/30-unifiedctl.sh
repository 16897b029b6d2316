# SPDX-License-Identifier: LGPL-2.1-or-later
# unifiedctl against the real daemon, and the reference agent under real systemd: verbs, waiting,
# exit statuses, JSON shapes, polkit for an unprivileged user, unified@.service, bash completion.

# _rc CMD...: prints CMD's exit status (its output goes to $_OUT).
_OUT=/run/unified-test-30.out
_rc() {
        local rc=0
        "$@" >"$_OUT" 2>&1 || rc=$?
        echo "$rc"
}

_state() {
        busctl get-property org.unified1 /org/unified1 org.unified1.Manager State | sed -e 's/^s "//' -e 's/"$//'
}

_active_profile() {
        busctl get-property org.unified1 /org/unified1 org.unified1.Manager ActiveProfile | sed -e 's/^s "//' -e 's/"$//'
}

setup_file() {
        unifiedctl stop --wait --timeout 2min >/dev/null 2>&1 || true
}

teardown_file() {
        unifiedctl stop --wait --timeout 2min >/dev/null 2>&1 || true
        rm -f "$_OUT"
}

# --- offline ---------------------------------------------------------------------------------------

test_validate_shipped_profiles() {
        assert_eq 0 "$(_rc unifiedctl validate)" "validate of every shipped profile: $(cat "$_OUT")"
        assert_match '5 profiles valid' "$(cat "$_OUT")" "summary line"
        assert_eq 0 "$(_rc unifiedctl validate core "$UNIFIED_PROFILE_DIR/full.yaml")" "validate by name and file"
        assert_eq true "$(unifiedctl validate --json | jq -r .valid)" "validate --json .valid"
}

test_validate_bad_profile() {
        local dir
        dir=$(mktemp -d)
        printf 'description: bad\nagents:\n  - name: a\n    exce: [/bin/true]\n' >"$dir/typo.yaml"
        assert_eq 65 "$(_rc unifiedctl validate "$dir/typo.yaml")" "exit status of an invalid profile"
        assert_match "^$dir/typo.yaml:4:5: error: .*exce" "$(cat "$_OUT")" "file:line:column diagnostic"
        assert_eq 65 "$(_rc unifiedctl validate --json "$dir/typo.yaml")" "same status with --json"
        assert_eq 4 "$(unifiedctl validate --json "$dir/typo.yaml" 2>/dev/null | jq -r '.diagnostics[0].line')" \
                "diagnostic line in JSON"
        assert_eq 4 "$(_rc unifiedctl validate "$dir/missing.yaml")" "a missing file"
        assert_eq 4 "$(_rc unifiedctl validate no-such-profile)" "an unknown name"
        rm -rf "$dir"
}

test_show() {
        assert_eq 16 "$(unifiedctl show core --json | jq '.agents | length')" "core's agents"
        assert_eq 77 "$(unifiedctl show full --json | jq '.agents | length')" "full's agents"
        assert_eq core "$(unifiedctl show tutoring --json | jq -r .extends)" "tutoring extends core"
        assert_match 'Budget: memory 4G, CPU 70%' "$(unifiedctl show vision)" "vision's budget in text"
        assert_eq 4 "$(_rc unifiedctl show no-such-profile)" "show of an unknown profile"
}

test_root_for_offline_verbs() {
        local root
        root=$(mktemp -d)
        mkdir -p "$root/etc/unified/profiles"
        printf 'description: only here\nagents:\n  - name: solo\n    exec: [/bin/sleep, infinity]\n' \
                >"$root/etc/unified/profiles/solo.yaml"
        assert_eq solo "$(unifiedctl --root "$root" list --json | jq -r '.[].name')" "list --root"
        assert_eq 0 "$(_rc unifiedctl --root "$root" validate)" "validate --root: $(cat "$_OUT")"
        assert_eq 1 "$(unifiedctl --root "$root" show solo --json | jq '.agents | length')" "show --root"
        rm -rf "$root"
}

test_usage_errors() {
        assert_eq 2 "$(_rc unifiedctl --bogus status)" "unknown option"
        assert_match "'--bogus'" "$(cat "$_OUT")" "the message names the option"
        assert_eq 2 "$(_rc unifiedctl frobnicate)" "unknown command"
        assert_eq 2 "$(_rc unifiedctl start)" "start without a profile"
        assert_eq 2 "$(_rc unifiedctl restart a b)" "restart with two agents"
        assert_eq 2 "$(_rc unifiedctl status --wait)" "--wait on status"
        assert_eq 2 "$(_rc unifiedctl start --wait --timeout soon core)" "bad --timeout"
        assert_eq 2 "$(_rc unifiedctl status --no-block)" "--no-block on status"
        assert_eq 2 "$(_rc unifiedctl start --no-block --timeout 1min core)" "--no-block with --timeout"
        assert_eq 2 "$(_rc unifiedctl list --json=yes)" "bad --json"
        assert_eq 2 "$(_rc unifiedctl)" "no command"
}

# --- against the daemon ----------------------------------------------------------------------------

test_status_when_inactive() {
        assert_eq 3 "$(_rc unifiedctl status)" "status without an active profile"
        assert_match 'No active profile' "$(cat "$_OUT")" "status text"
        assert_eq 3 "$(_rc unifiedctl health)" "health without an active profile"
        assert_eq null "$(unifiedctl status --json | jq -r .profile)" "status --json .profile"
}

test_list() {
        local names
        names=$(unifiedctl list --json | jq -r '.[].name' | sort | tr '\n' ' ')
        assert_eq "core full learning tutoring vision " "$names" "profiles over the bus"
        assert_match 'tutoring +no ' "$(unifiedctl list)" "list table"
}

test_start_wait_core() {
        assert_eq 0 "$(_rc unifiedctl start --wait --timeout 3min core)" "start --wait core: $(cat "$_OUT")"
        assert_eq running "$(_state)" "state right after start --wait returned"
        assert_eq core "$(unifiedctl status --json | jq -r .profile)" "status --json .profile"
        assert_eq 16 "$(unifiedctl status --json | jq '.agents | length')" "agents in status --json"
        assert_eq 16 "$(unifiedctl agents --json | jq length)" "agents --json"
        assert_eq 0 "$(_rc unifiedctl status)" "status exit"
        assert_match 'Profile: core' "$(cat "$_OUT")" "status text"
        assert_match 'unified-event-bus\.service +active' "$(cat "$_OUT")" "an agent row"
}

test_json_shapes() {
        unifiedctl status --json | jq -e '(.state | type) == "string" and (.health | type) == "number"
                and (.agents_active | type) == "number" and (.agents_total == 16)
                and (.agents[0] | has("name") and has("unit") and has("breaker") and has("restarts")
                     and has("memory_current") and has("essential"))' >/dev/null
        unifiedctl health --json | jq -e '.profile == "core" and (.agents | length) == 16
                and (.agents[0].health | type) == "number"' >/dev/null
        unifiedctl agents --json | jq -e '.[0] | has("object") and has("active_state")' >/dev/null
}

test_start_again_is_noop() {
        local pid
        pid=$(unit_prop unified-event-bus.service MainPID)
        assert_eq 0 "$(_rc unifiedctl start --wait core)" "starting the active profile"
        assert_eq "$pid" "$(unit_prop unified-event-bus.service MainPID)" "event-bus kept its PID"
}

test_errors_are_one_line() {
        assert_eq 4 "$(_rc unifiedctl start no-such-profile)" "start of an unknown profile"
        assert_eq 1 "$(wc -l <"$_OUT")" "one line"
        assert_match "^Failed to start profile 'no-such-profile': " "$(cat "$_OUT")" "the message"
        assert_eq 4 "$(_rc unifiedctl restart no-such-agent)" "restart of an unknown agent"
        assert_eq 4 "$(_rc unifiedctl reset-breaker no-such-agent)" "reset-breaker of an unknown agent"
}

test_restart_agent() {
        local pid
        pid=$(unit_prop unified-health-monitor.service MainPID)
        assert_ne 0 "$pid" "health-monitor runs"
        assert_eq 0 "$(_rc unifiedctl restart health-monitor)" "restart: $(cat "$_OUT")"
        # Generous: under TCG, setting up an agent's sandbox alone has been seen to take a minute.
        wait_until 180 sh -c "[ \"\$(systemctl show -P MainPID unified-health-monitor.service)\" != $pid ] &&
                systemctl is-active -q unified-health-monitor.service"
}

test_unprivileged_reads_but_cannot_start() {
        assert_eq 0 "$(_rc as_user unifiedctl status)" "status as a user: $(cat "$_OUT")"
        assert_eq 0 "$(_rc as_user unifiedctl --json agents)" "agents as a user"
        assert_eq 1 "$(_rc as_user unifiedctl --no-ask-password start vision)" "start as a user"
        assert_match "^Failed to start profile 'vision': " "$(cat "$_OUT")" "the refusal"
        assert_eq core "$(_active_profile)" "nothing changed"
}

test_switch_wait_and_back() {
        local pid
        pid=$(unit_prop unified-event-bus.service MainPID)
        assert_eq 0 "$(_rc unifiedctl switch --wait --timeout 3min vision)" "switch --wait vision: $(cat "$_OUT")"
        assert_eq vision "$(_active_profile)" "active profile"
        assert_eq 20 "$(unifiedctl status --json | jq .agents_total)" "vision's agents"
        assert_eq "$pid" "$(unit_prop unified-event-bus.service MainPID)" "common agent kept its PID"
        assert_eq 0 "$(_rc unifiedctl start --wait --timeout 3min core)" "back to core: $(cat "$_OUT")"
        assert_eq 16 "$(unifiedctl status --json | jq .agents_total)" "core's agents"
}

test_stop_of_other_profile_is_noop() {
        assert_eq 0 "$(_rc unifiedctl stop --wait vision)" "stop --wait of a profile that is not active"
        assert_eq core "$(_active_profile)" "core still active"
        assert_eq running "$(_state)" "still running"
}

# systemctl's habit: start and stop wait without --wait; --no-block returns at once.
test_start_stop_wait_by_default() {
        assert_eq 0 "$(_rc unifiedctl stop --timeout 3min)" "stop: $(cat "$_OUT")"
        assert_eq inactive "$(_state)" "state right after a plain stop returned"
        assert_eq 0 "$(_rc unifiedctl start --timeout 3min core)" "start: $(cat "$_OUT")"
        assert_eq running "$(_state)" "state right after a plain start returned"
        assert_eq "" "$(cat "$_OUT")" "no progress line when output is not a terminal"
        # Vision's agents beyond core's take seconds to come up under TCG: --no-block is back before.
        assert_eq 0 "$(_rc unifiedctl switch --no-block vision)" "switch --no-block: $(cat "$_OUT")"
        assert_eq "vision starting" "$(_active_profile) $(_state)" "state right after switch --no-block"
        assert_eq 0 "$(_rc unifiedctl start --timeout 3min vision)" "start of the starting profile waits"
        assert_eq running "$(_state)" "running once it returned"
        # On a terminal (script gives it a pty) the wait shows its progress.
        assert_eq 0 "$(_rc unifiedctl stop --timeout 3min)" "stop: $(cat "$_OUT")"
        assert_eq 0 "$(_rc script -qec "unifiedctl start --timeout 3min core" /dev/null)" "start on a tty"
        assert_match 'Starting core: [0-9]+/16 agents active' "$(cat "$_OUT")" "the progress line"
        assert_eq running "$(_state)" "core running"
}

test_pager() {
        local pager='sed s/^/PAGED:/'
        assert_match '^PAGED:PROFILE' "$(SYSTEMD_PAGER=$pager script -qec "unifiedctl list" /dev/null)" \
                "list on a terminal goes through \$SYSTEMD_PAGER"
        assert_match '^PAGED:PROFILE' "$(PAGER=$pager script -qec "unifiedctl list" /dev/null)" "then \$PAGER"
        assert_match '^PROFILE' "$(SYSTEMD_PAGER=$pager script -qec "unifiedctl --no-pager list" /dev/null)" \
                "--no-pager"
        assert_match '^PROFILE' "$(SYSTEMD_PAGER=$pager PAGER=$pager script -qec "SYSTEMD_PAGER=cat unifiedctl list" \
                /dev/null)" "SYSTEMD_PAGER=cat turns it off"
        assert_match '^PROFILE' "$(SYSTEMD_PAGER=$pager unifiedctl list)" "never on a pipe"
        # Fitted to the terminal's width: no line of status is wider than $COLUMNS (in the C locale,
        # where the ellipsis is "..." and awk counts characters, not bytes).
        assert_eq 0 "$(LC_ALL=C COLUMNS=60 unifiedctl --no-pager status | awk 'length > 60' | wc -l)" \
                "status in 60 columns"
        assert_match '\.\.\.' "$(LC_ALL=C COLUMNS=60 unifiedctl --no-pager status)" "cells were cut to fit"
        assert_eq 1 "$(unifiedctl --json=short status | wc -l)" "--json=short is one line"
        assert_eq "" "$(unifiedctl -q list | grep 'profiles listed' || true)" "-q drops the footer"
}

test_dot_of_the_running_profile() {
        local graph
        graph=$(unifiedctl dot core)
        assert_match 'digraph "core"' "$graph" "a digraph"
        assert_eq 14 "$(grep -c 'fillcolor=palegreen' <<<"$graph")" "core's 14 agents that are not lazy: active, green"
        # The lazy ones wait for a first connection on their sockets: inactive, grey, dashed.
        assert_match '"audit-logger" \[label="audit-logger.ninactive", style="rounded,dashed,filled", fillcolor=gray90\]' \
                "$graph" "a lazy agent"
        assert_match '"api-gateway" -> "auth-service";' "$graph" "an edge for requires"
        # A file is drawn as defined, even when a profile of that name runs.
        assert_eq 0 "$(unifiedctl dot "$UNIFIED_PROFILE_DIR/core.yaml" | grep -c fillcolor || true)" "a file: no colors"
        assert_eq 0 "$(unifiedctl dot vision | grep -c fillcolor || true)" "a profile that is not running: no colors"
}

test_stop_wait() {
        assert_eq 0 "$(_rc unifiedctl stop --wait --timeout 3min)" "stop --wait: $(cat "$_OUT")"
        assert_eq inactive "$(_state)" "state after stop --wait"
        # (unified-metrics.socket and unified-metricsd.service are the package's metrics exporter, not agents.)
        assert_eq "" "$(systemctl list-units --no-legend --plain 'unified-*.service' 'unified-*.socket' |
                grep -Ev '^unified-metrics(\.socket|d\.service)' || true)" "no agent unit left"
        assert_eq 3 "$(_rc unifiedctl status)" "status after stop"
}

test_unit_template_uses_wait() {
        assert_ok systemctl start unified@core.service
        # unified@.service is Type=oneshot around `unifiedctl start --wait`: active means running.
        assert_eq running "$(_state)" "state once systemctl start returned"
        assert_eq core "$(_active_profile)" "active profile"
        assert_ok systemctl stop unified@core.service
        assert_eq inactive "$(_state)" "state once systemctl stop returned"
}

test_bash_completion() {
        local f=/usr/share/bash-completion/completions/unifiedctl
        assert_ok test -f "$f"
        assert_eq "show start status stop switch" "$(bash -c "source $f
                COMP_WORDS=(unifiedctl s); COMP_CWORD=1; _unifiedctl; printf '%s\n' \"\${COMPREPLY[@]}\"" |
                sort | tr '\n' ' ' | sed 's/ $//')" "commands"
        assert_eq "tutoring" "$(bash -c "source $f
                COMP_WORDS=(unifiedctl start tu); COMP_CWORD=2; _unifiedctl; echo \"\${COMPREPLY[@]}\"")" \
                "profile names"
}

# --- the reference agent under systemd ------------------------------------------------------------

test_agent_ready_watchdog_health() {
        local unit=unified-event-bus.service t0
        assert_eq 0 "$(_rc unifiedctl start --wait --timeout 3min core)" "start core: $(cat "$_OUT")"
        # Type=notify: active means READY=1 arrived.
        assert_eq active "$(unit_prop $unit ActiveState)" "event-bus active"
        assert_eq notify "$(unit_prop $unit Type)" "event-bus is Type=notify"
        assert_match 'health ok' "$(unit_prop $unit StatusText)" "STATUS= from the agent"
        # The watchdog timestamp moves with every WATCHDOG=1.
        t0=$(unit_prop $unit WatchdogTimestampMonotonic)
        wait_until 15 sh -c "[ \"\$(systemctl show -P WatchdogTimestampMonotonic $unit)\" != $t0 ]"
        journalctl --sync
        assert_match 'UNIFIED_HEALTH=ok' \
                "$(journalctl --no-pager -b -o export UNIFIED_AGENT=event-bus UNIFIED_HEALTH=ok | grep -a ^UNIFIED_HEALTH= | head -n1)" \
                "a structured health entry"
        assert_ok unifiedctl stop --wait --timeout 3min
}

test_agent_fault_file_hang_and_recover() {
        # A throwaway unit of our own, not named unified-* so the daemon leaves it alone.
        local unit=agent-fault-test-30.service
        mkdir -p /run/unified/faults
        systemd-run --unit=$unit -p Type=notify -p WatchdogSec=2s -p Restart=no \
                /usr/libexec/unified/unified-agent --role test --fault-file /run/unified/faults/test-30
        assert_eq active "$(unit_prop $unit ActiveState)" "agent ready"
        echo unhealthy >/run/unified/faults/test-30
        wait_until 10 sh -c "systemctl show -P StatusText $unit | grep -q failing"
        rm /run/unified/faults/test-30
        wait_until 10 sh -c "systemctl show -P StatusText $unit | grep -q 'health ok'"
        echo hang >/run/unified/faults/test-30
        wait_until 15 sh -c "[ \"\$(systemctl show -P Result $unit)\" = watchdog ]"
        rm -f /run/unified/faults/test-30
        systemctl reset-failed $unit 2>/dev/null || true
        systemctl stop $unit 2>/dev/null || true
}

# A metrics socket that cannot bind is visible in `unifiedctl status`. The socket is moved to a port a
# socket unit of ours holds, the way the runbook moves it (a drop-in resetting ListenStream=); its
# service (unifiedd or the metrics process) must be stopped first, or systemd refuses to start it.
test_status_shows_failed_metrics_socket() {
        local dropin=/run/systemd/system/unified-metrics.socket.d service
        service=$(systemctl show -P Triggers unified-metrics.socket)
        assert_ok systemd-run --unit=squat-9099 --socket-property=ListenStream=127.0.0.1:9099 /bin/true
        mkdir -p "$dropin"
        printf '[Socket]\nListenStream=\nListenStream=127.0.0.1:9099\n' >"$dropin/50-test.conf"
        systemctl daemon-reload
        systemctl stop unified-metrics.socket "$service"
        assert_ne 0 "$(_rc systemctl start unified-metrics.socket)" "the socket cannot bind"
        assert_eq "failed resources" "$(unit_prop unified-metrics.socket ActiveState) $(unit_prop unified-metrics.socket Result)" \
                "systemd's view"
        _rc unifiedctl --no-pager status >/dev/null
        assert_match 'Metrics: unified-metrics.socket failed: could not listen .*127.0.0.1:9099' "$(cat "$_OUT")" \
                "status says so"
        assert_eq "failed resources" "$(unifiedctl status --json | jq -r '.metrics_socket | "\(.active_state) \(.result)"')" \
                "and in JSON"
        rm -rf "$dropin"
        systemctl daemon-reload
        systemctl stop squat-9099.socket
        systemctl stop "$service"
        systemctl reset-failed unified-metrics.socket
        assert_ok systemctl start unified-metrics.socket
        assert_eq null "$(unifiedctl status --json | jq -r '.metrics_socket.problem')" "no problem once it listens"

        # The exporter fails on every connection: the socket starts it again for the connection still
        # waiting until systemd gives up on both. Status names the exporter and its journal.
        mkdir -p "/run/systemd/system/$service.d"
        printf '[Service]\nExecStart=\nExecStart=/bin/false\n' >"/run/systemd/system/$service.d/50-test.conf"
        systemctl daemon-reload
        curl -s -m 2 -o /dev/null http://127.0.0.1:9000/metrics || true
        wait_until 30 sh -c '[ "$(systemctl show -P ActiveState unified-metrics.socket)" = failed ]'
        _rc unifiedctl --no-pager status >/dev/null
        assert_match "Metrics: unified-metrics.socket failed: stopped after $service failed to start too often" \
                "$(cat "$_OUT")" "status says the exporter failed"
        assert_match "journalctl -u $service" "$(cat "$_OUT")" "and where to read why"
        assert_eq failed "$(unifiedctl status --json | jq -r .metrics_socket.service_active_state)" "in JSON"
        rm -rf "/run/systemd/system/$service.d"
        systemctl daemon-reload
        systemctl reset-failed unified-metrics.socket "$service"
        assert_ok systemctl start unified-metrics.socket
}
