# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
# Guest side of bench/metrics-split (issue 16): the same measurements for two trees in one VM.
#   after:  the installed tree, /metrics served by unified-metricsd (unified-metrics.socket)
#   before: main's unifiedd ($BENCH_BIN/unifiedd-main), serving /metrics itself on 127.0.0.1:9000,
#           run in place of the installed one with a runtime drop-in that gives it back its network
# For each: unifiedd's RSS with tutoring running after five scrapes; with full running, ten scrapes
# (curl's time and the page's own unified_scrape_duration_seconds), the RSS of unifiedd and of the
# exporter, and the round trip of a D-Bus call into unifiedd (Get of Manager.State, bus-latency)
# idle and while a loop scrapes back to back.

METRICS_URL=http://127.0.0.1:9000/metrics
BEFORE_DROPIN=/run/systemd/system/unified.service.d/50-bench-before.conf

bench_metrics_use_before() {
        systemctl stop unified-metrics.socket unified-metricsd.service 2>/dev/null || true
        mkdir -p "$(dirname "$BEFORE_DROPIN")"
        cat >"$BEFORE_DROPIN" <<DROPIN
[Service]
ExecStart=
ExecStart=$BENCH_BIN/unifiedd-main
PrivateNetwork=no
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6
IPAddressAllow=localhost
DROPIN
        systemctl daemon-reload
}

bench_metrics_use_after() {
        rm -f "$BEFORE_DROPIN"
        systemctl daemon-reload
        systemctl start unified-metrics.socket
}

# bench_metrics_rss LABEL WHAT PID
bench_metrics_rss() {
        echo "$1 $2 $(awk '/^(VmRSS|RssAnon|RssFile|VmHWM):/ { printf "%s %s ", $1, $2 }' "/proc/$3/status")"
}

# bench_metrics_scrapes LABEL N: N scrapes a second apart.
bench_metrics_scrapes() {
        local page=/tmp/bench-page i t
        for i in $(seq "$2"); do
                t=$(curl -s -o "$page" -w '%{time_total}' "$METRICS_URL") || { echo "$1 scrape $i failed"; continue; }
                echo "$1 scrape $i curl_s $t bytes $(wc -c <"$page") previous_scrape_s" \
                        "$(awk '$1 == "unified_scrape_duration_seconds" { print $2 }' "$page")"
                sleep 1
        done
}

bench_metrics_latency() {
        local label=$1 loop n
        echo "$label latency idle $("$BENCH_BIN/bus-latency" 300)"
        # Back-to-back scrapes in the background, counted.
        ( n=0; while :; do curl -s -o /dev/null "$METRICS_URL" || true; n=$((n + 1)); echo "$n" >/tmp/bench-scrapes; done ) &
        loop=$!
        sleep 2
        echo "$label latency scraping $("$BENCH_BIN/bus-latency" 300)"
        kill "$loop"
        wait "$loop" 2>/dev/null || true
        echo "$label back-to-back scrapes during the run: $(cat /tmp/bench-scrapes)"
}

# bench_metrics_phase LABEL
bench_metrics_phase() {
        local label=$1 pid xpid
        bench_clean
        systemctl start unified.service
        unifiedctl start --wait tutoring >/dev/null
        sleep 5
        bench_metrics_scrapes "$label tutoring" 5 >/dev/null
        sleep 2
        pid=$(systemctl show -P MainPID unified.service)
        bench_metrics_rss "$label" "tutoring unifiedd after 5 scrapes" "$pid"

        unifiedctl start --wait full >/dev/null
        sleep 10
        bench_metrics_scrapes "$label full" 10
        pid=$(systemctl show -P MainPID unified.service)
        bench_metrics_rss "$label" "full unifiedd after 10 scrapes" "$pid"
        xpid=$(systemctl show -P MainPID unified-metricsd.service)
        if [ "$xpid" -gt 0 ]; then
                bench_metrics_rss "$label" "full unified-metricsd after 10 scrapes" "$xpid"
        fi
        bench_metrics_latency "$label full"
        bench_clean
}

bench_metrics_main() {
        mkdir -p "$BENCH_OUT"
        bench_metrics_unpack
        {
                echo "guest load before: $(bench_guest_load)"
                bench_metrics_use_after
                bench_metrics_phase after
                bench_metrics_use_before
                bench_metrics_phase before
                bench_metrics_use_after
                echo "guest load after: $(bench_guest_load)"
        } 2>&1 | tee "$BENCH_OUT/metrics-split.txt"
}
