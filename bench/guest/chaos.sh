# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
# Guest side of bench/chaos: the chaos run, every scenario BENCH_ROUNDS times on a profile
# (full by default), as an administrator would type it. The table is unifiedctl's own; the raw
# per-fault records come from the daemon's journal entries (MESSAGE_ID fault finished).
# Results: $BENCH_OUT/chaos-table.txt, chaos-command.txt, faults.json, status.txt, bench.log.

FAULT_FINISHED=e1004ee68dca4be48892de44639bebfe

bench_chaos_settled() {
        local s
        s=$(busctl get-property org.unified1 /org/unified1 org.unified1.Manager State | awk '{ print $2 }' | tr -d '"')
        [ "$s" = running ]
}

bench_chaos_main() {
        local cmd rc=0 t0 t1
        mkdir -p "$BENCH_OUT"
        bench_log "systemd $(systemctl --version | head -n1), $(nproc) CPUs, $(free -m | awk '/^Mem:/ { print $2 }') MiB"
        bench_clean
        systemctl start unified.service
        t0=$(bench_now_us)
        unifiedctl --no-ask-password start --no-block "$BENCH_PROFILE" >/dev/null
        bench_wait "$BENCH_SETTLE" bench_chaos_settled ||
                bench_log "$BENCH_PROFILE did not reach running in $BENCH_SETTLE s: $(unifiedctl status 2>&1 | head -n 1)"
        t1=$(bench_now_us)
        bench_log "$BENCH_PROFILE: $(unifiedctl status 2>/dev/null | head -n 1) after $(( (t1 - t0) / 1000 )) ms"
        # Let the start-up's own restarts leave the breakers' windows: only injected faults count.
        sleep 30
        cmd="unifiedctl --no-ask-password chaos run --rounds $BENCH_ROUNDS --sla 60s $BENCH_SCENARIOS"
        echo "$cmd" >"$BENCH_OUT/chaos-command.txt"
        bench_log "running: $cmd (guest load $(bench_guest_load))"
        $cmd >"$BENCH_OUT/chaos-table.txt" 2>"$BENCH_OUT/chaos-stderr.txt" || rc=$?
        echo "$rc" >"$BENCH_OUT/status.txt"
        bench_log "chaos run exit status $rc (guest load $(bench_guest_load))"
        cat "$BENCH_OUT/chaos-table.txt" >&2
        journalctl -b -o json MESSAGE_ID=$FAULT_FINISHED |
                jq -s '[.[] | {agent: .UNIFIED_AGENT, kind: .UNIFIED_FAULT_KIND, recovered: .UNIFIED_RECOVERED,
                               recovery_usec: .UNIFIED_RECOVERY_USEC, message: .MESSAGE}]' >"$BENCH_OUT/faults.json"
        unifiedctl status >"$BENCH_OUT/status-after.txt" 2>&1 || true
        return 0
}
