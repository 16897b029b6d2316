# SPDX-License-Identifier: LGPL-2.1-or-later
# `unifiedctl export kubernetes` run by a real consumer (issue 18): an image of the installed
# unified-agent and its libraries (podman import, no registry), `podman kube play` of core's export,
# every non-lazy agent's container running with its agent's memory and CPU limits, the watchdog
# probe passing, the ResourceQuota carrying core's budget, `podman kube down` leaving nothing.
# podman is only in the Debian 13 image (tests/integration/host-lib.sh): on Debian 12 only the
# export itself is checked.

MANIFEST=/run/itest-kube/core.yaml
BUILD_IMAGE=/usr/share/unified/oci/build-agent-image

# The agents of core as "name memory_max_bytes cpu_millicores lazy", from the resolved profile.
core_agents() {
        unifiedctl show core --json 2>/dev/null |
                jq -r '.agents[] | "\(.name) \(.memory_max) \(.cpu_quota * 10 | ceil) \(.lazy_listen != null)"'
}

# podman kube play names a Deployment's container POD-CONTAINER, its pod DEPLOYMENT-pod.
ctr() {
        echo "$1-pod-$1"
}

setup_file() {
        local t0
        mkdir -p /run/itest-kube
        unifiedctl export kubernetes core --image localhost/unified-agent:latest --cpus 4 --output "$MANIFEST" \
                2>/run/itest-kube/warnings
        [ "$UNIFIED_RELEASE" = trixie ] || return 0
        t0=$(date +%s%N)
        IMAGE=$("$BUILD_IMAGE")
        echo "image $IMAGE built in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
        t0=$(date +%s)
        podman kube play "$MANIFEST" >/run/itest-kube/play.log 2>&1
        echo "podman kube play: $(( $(date +%s) - t0 )) s"
}

teardown_file() {
        [ "$UNIFIED_RELEASE" != trixie ] || podman kube down "$MANIFEST" >/dev/null 2>&1 || true
        rm -rf /run/itest-kube
}

ctr_state_is() {
        [ "$(podman inspect -f '{{.State.Status}}' "$(ctr "$1")" 2>/dev/null)" = "$2" ]
}

ctr_health_is() {
        [ "$(podman inspect -f '{{.State.Health.Status}}' "$(ctr "$1")" 2>/dev/null)" = "$2" ]
}

# What podman knows about an agent's container, for a failure message.
ctr_diagnose() {
        echo "podman ps -a:"
        podman ps -a --format '{{.Names}} {{.Status}}' | sed 's/^/  /'
        echo "podman logs $(ctr "$1") (last 20 lines):"
        podman logs --tail 20 "$(ctr "$1")" 2>&1 | sed 's/^/  /'
        podman inspect -f 'state {{.State.Status}} exit {{.State.ExitCode}} error {{.State.Error}} health {{.State.Health.Status}} restarts {{.RestartCount}}' \
                "$(ctr "$1")" 2>&1 | sed 's/^/  /'
}

need_trixie() {
        [ "$UNIFIED_RELEASE" = trixie ] || skip "podman is only in the Debian 13 image"
}

test_image_holds_only_the_agent_and_its_libraries() {
        need_trixie
        local files
        # What the image holds, as podman exports it: the agent, the loader and the libraries.
        files=$(podman create --name itest-kube-list "$IMAGE" /none >/dev/null &&
                podman export itest-kube-list | tar -t | grep -v '/$' | sed 's|^\./||'; podman rm itest-kube-list >/dev/null)
        assert_ok grep -qx usr/libexec/unified/unified-agent <<<"$files"
        assert_eq "" "$(grep -v -e '^usr/libexec/unified/unified-agent$' -e '\.so[.0-9]*$' <<<"$files" || true)" \
                "nothing but the agent and shared libraries"
}

# "container status memory cpu-quota cpu-period" of the given agents' containers, one podman call (a
# podman process costs seconds under TCG).
ctr_table() {
        local names=() a
        for a in "$@"; do
                names+=("$(ctr "$a")")
        done
        podman inspect -f '{{.Name}} {{.State.Status}} {{.HostConfig.Memory}} {{.HostConfig.CpuQuota}} {{.HostConfig.CpuPeriod}}' \
                "${names[@]}"
}

all_running() {
        local table
        table=$(ctr_table "$@") || return 1
        [ "$(awk '$2 == "running"' <<<"$table" | wc -l)" -eq $# ]
}

test_every_non_lazy_agent_runs_with_its_limits() {
        need_trixie
        local name mem cpu lazy agents=() c status m quota period n=0
        declare -A want_mem want_cpu
        while read -r name mem cpu lazy; do
                [ "$lazy" = false ] || continue
                agents+=("$name")
                want_mem[$(ctr "$name")]=$mem
                want_cpu[$(ctr "$name")]=$cpu
        done < <(core_agents)
        assert_eq 14 "${#agents[@]}" "core's non-lazy agents"
        wait_until 300 all_running "${agents[@]}" || { ctr_table "${agents[@]}"; false; }
        while read -r c status m quota period; do
                c=${c#/}
                n=$((n + 1))
                assert_eq running "$status" "$c: state"
                assert_eq "${want_mem[$c]}" "$m" "$c: memory limit"
                assert_eq "${want_cpu[$c]}" "$(( quota * 1000 / period ))" "$c: CPU limit in millicores ($quota/$period)"
        done < <(ctr_table "${agents[@]}")
        assert_eq 14 "$n" "containers inspected"
}

test_watchdog_agents_pass_their_liveness_probe() {
        need_trixie
        # podman runs the livenessProbe as its healthcheck: unified-agent --probe alive in the container.
        wait_until 120 ctr_health_is event-bus healthy || { ctr_diagnose event-bus; false; }
        assert_ok podman exec "$(ctr event-bus)" /usr/libexec/unified/unified-agent --probe alive
        assert_ok podman exec "$(ctr event-bus)" /usr/libexec/unified/unified-agent --probe ready
}

test_quota_carries_the_budget() {
        # podman kube play ignores ResourceQuota (it has no namespaces to hold one): read the manifest.
        local hard
        hard=$(yq_quota "$MANIFEST")
        assert_eq 'limits.memory: "2Gi" limits.cpu: "2000m"' "$hard" "ResourceQuota spec.hard"
        assert_eq 2147483648 "$(unifiedctl show core --json | jq .memory_max)" "core's budget is 2G"
}

# The two lines under "hard:" of the ResourceQuota document, joined.
yq_quota() {
        awk '/^kind: ResourceQuota/ { q = 1 } /^---/ { q = 0 } q && /^    limits\./ { sub(/^ +/, ""); printf "%s%s", s, $0; s = " " }' "$1"
}

test_every_dropped_key_is_warned_once() {
        local w
        w=$(cat /run/itest-kube/warnings)
        assert_eq 16 "$(grep -c 'no Kubernetes equivalent' <<<"$w")" "one warning per dropped key of core"
        assert_eq 1 "$(grep -c '^core: breaker.cooldown ' <<<"$w")" "breaker.cooldown once"
}

test_kube_down_cleans_up() {
        need_trixie
        assert_ok podman kube down "$MANIFEST"
        assert_eq "" "$(podman ps -a --format '{{.Names}}')" "no containers left"
        assert_eq "" "$(podman pod ps --format '{{.Name}}')" "no pods left"
}
