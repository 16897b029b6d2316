# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
# Guest side of bench/profile-start: unifiedd under callgrind (a drop-in), one start of
# BENCH_PROFILE over D-Bus, then the daemon is stopped so that callgrind writes its profile.
# Results: $BENCH_OUT/callgrind.out, timing.txt, status.txt, bench.log.

bench_profile_running() {
        busctl --timeout=120 get-property org.unified1 /org/unified1 org.unified1.Manager State |
                grep -q '"running"'
}

bench_profile_main() {
        local dropin=/run/systemd/system/unified.service.d/bench-callgrind.conf t0 t1
        mkdir -p "$BENCH_OUT"
        bench_clean
        sed -n '/^__VALGRIND__$/,$p' "$BENCH_CASE" | tail -n +2 | base64 -d | tar -xzf - -C /
        mkdir -p "$(dirname "$dropin")"
        # The daemon's own D-Bus calls, its watchdog and the sandbox's W^X and syscall filter do not
        # suit a process running fifty times slower under a JIT.
        cat >"$dropin" <<'DROPIN'
[Service]
ExecStart=
ExecStart=/usr/bin/valgrind --tool=callgrind --callgrind-out-file=/run/unified/callgrind.out /usr/libexec/unified/unifiedd
Environment=SYSTEMD_BUS_TIMEOUT=900
WatchdogSec=0
TimeoutStartSec=900
TimeoutStopSec=900
MemoryDenyWriteExecute=no
SystemCallFilter=
DROPIN
        systemctl daemon-reload
        systemctl start unified.service
        bench_log "systemd $(systemctl --version | head -n1); unifiedd under $(valgrind --version)"
        t0=$(bench_now_us)
        busctl --timeout=900 call org.unified1 /org/unified1 org.unified1.Manager StartProfile s "$BENCH_PROFILE"
        if ! bench_wait "$BENCH_SETTLE" bench_profile_running; then
                bench_log "$BENCH_PROFILE did not reach running in $BENCH_SETTLE s"
        fi
        t1=$(bench_now_us)
        echo "$BENCH_PROFILE running after $(( (t1 - t0) / 1000 )) ms under callgrind" >"$BENCH_OUT/timing.txt"
        unifiedctl status >"$BENCH_OUT/status.txt" 2>&1 || true
        bench_log "$(cat "$BENCH_OUT/timing.txt")"
        # The profile is written when the daemon exits; the agents stay (they are not its children).
        systemctl stop unified.service
        cp /run/unified/callgrind.out* "$BENCH_OUT/callgrind.out"
        rm -f "$dropin"
        systemctl daemon-reload
        bench_clean
        return 0
}
