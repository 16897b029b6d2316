# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
# Upgrading the Debian package (issue 17): the maintainer scripts restart the daemon, which adopts
# the agents, and the exporter if it runs, but never unified.slice or the agents in it, nor the
# metrics socket (systemd keeps its listening socket for the new exporter); removal stops everything. The "new version" is the installed .deb repacked with a higher Version, so what runs
# is the package's own maintainer scripts, as apt runs them on `apt upgrade`.

BUS=(org.unified1 /org/unified1 org.unified1.Manager)
WORK=/var/tmp/itest-upgrade

_need_package() {
        [ "${UNIFIED_INSTALL:-}" = deb ] || skip "runs only with the .deb installed (this run: ${UNIFIED_INSTALL:-none})"
}

mgr() {
        busctl get-property "${BUS[@]}" "$1" | sed -E 's/^[a-z]+ //; s/^"(.*)"$/\1/'
}

state_is() {
        [ "$(mgr State)" = "$1" ]
}

# "unit MainPID" of every agent unit (unified-<agent>.service), sorted; lazy agents not yet used
# show 0.
agent_pids() {
        local unit
        # unified-metricsd.service is the package's exporter, not an agent (its name is reserved).
        systemctl list-units --all --no-legend --plain --type=service 'unified-*' |
                awk '$1 != "unified-metricsd.service" { print $1 }' |
                while read -r unit; do
                        echo "$unit $(systemctl show -P MainPID "$unit")"
                done | sort
}

daemon_replaced() {
        local pid
        pid=$(systemctl show -P MainPID unified.service)
        [ "$pid" != 0 ] && [ "$pid" != "$1" ]
}

# repack DEB VERSION OUT: DEB with Version: VERSION, maintainer scripts and files unchanged.
repack() {
        rm -rf "$WORK/tree"
        dpkg-deb --raw-extract "$1" "$WORK/tree"
        sed -i "s/^Version: .*/Version: $2/" "$WORK/tree/DEBIAN/control"
        dpkg-deb --build "$WORK/tree" "$3" >/dev/null
}

teardown_file() {
        rm -rf "$WORK"
        # Later files expect the package as it was installed, and nothing running.
        if [ "${UNIFIED_INSTALL:-}" = deb ] && [ "$(dpkg-query -W -f '${Version}' unified 2>/dev/null)" != \
                "$(dpkg-deb -f "$UNIFIED_DEB" Version)" ]; then
                apt-get purge -y unified >/dev/null 2>&1 || true
                apt-get install -y --no-install-recommends "$UNIFIED_DEB" >/dev/null 2>&1 || true
        fi
}

# dh_installsystemd writes maintainer scripts only for the units debian/rules names: a unit added to
# the package without being named there would be left running after removal.
test_removal_stops_every_shipped_unit() {
        _need_package
        local prerm=/var/lib/dpkg/info/unified.prerm path name missing=()
        assert_ok test -r "$prerm"
        while read -r path; do
                name=${path##*/}
                case $name in *@.*) continue ;; esac    # templates: unified.prerm stops the instances
                grep -q "'$name'" "$prerm" || missing+=("$name")
        done < <(dpkg-query -L unified | grep -E '^(/usr)?/lib/systemd/system/[^/]+\.(service|socket|slice|timer|path)$')
        assert_eq "" "${missing[*]}" "shipped units the prerm does not stop"
        # The generated scripts as built: only the daemon is restarted after an upgrade; the slice and
        # the socket are started (a no-op when active), never restarted.
        local postinst=/var/lib/dpkg/info/unified.postinst restarted
        restarted=$(grep -o "deb-systemd-invoke \$_dh_action [^>]*" "$postinst")
        echo "restarted after an upgrade: $restarted"
        assert_match "'unified\.service'" "$restarted" "the daemon is restarted after an upgrade"
        assert_eq "" "$(grep -oE "'unified(\.slice|-metrics\.socket)'" <<<"$restarted" || true)" \
                "units restarted after an upgrade that must not be"
        assert_ok grep -E "deb-systemd-invoke start .*'unified\\.slice'" "$postinst"
}

test_upgrade_keeps_agents_running() {
        _need_package
        local old new daemon exporter before after slice_since socket_since
        mkdir -p "$WORK"
        old=$(dpkg-query -W -f '${Version}' unified)
        new="$old+itest1"
        repack "$UNIFIED_DEB" "$new" "$WORK/unified_${new}_amd64.deb"
        assert_ok dpkg --compare-versions "$new" gt "$old"

        assert_ok systemctl start unified@core.service
        wait_until 300 state_is running
        daemon=$(systemctl show -P MainPID unified.service)
        before=$(agent_pids)
        slice_since=$(systemctl show -P ActiveEnterTimestampMonotonic unified.slice)
        socket_since=$(systemctl show -P ActiveEnterTimestampMonotonic unified-metrics.socket)
        assert_eq active "$(systemctl is-active unified-metrics.socket)" "unified-metrics.socket before the upgrade"
        # A scrape starts the socket-activated exporter; the upgrade restarts it because it runs.
        assert_ok curl -sf --max-time 30 -o /dev/null http://127.0.0.1:9000/metrics
        exporter=$(systemctl show -P MainPID unified-metricsd.service)
        assert_ne 0 "$exporter" "unified-metricsd running before the upgrade"
        echo "before: daemon $daemon, slice active since $slice_since"
        echo "$before"
        assert_match '^unified-.*\.service [1-9]' "$before" "agents of core running before the upgrade"

        assert_ok apt-get install -y --no-install-recommends "$WORK/unified_${new}_amd64.deb"
        assert_eq "$new" "$(dpkg-query -W -f '${Version}' unified)" "installed version"

        # The daemon is the new one, it adopted the profile, and no agent was restarted.
        wait_until 60 daemon_replaced "$daemon"
        wait_until 120 state_is running
        assert_eq core "$(mgr ActiveProfile)" "active profile after the upgrade"
        after=$(agent_pids)
        assert_eq "$before" "$after" "agents and their MainPIDs across the upgrade"
        assert_eq "$slice_since" "$(systemctl show -P ActiveEnterTimestampMonotonic unified.slice)" \
                "unified.slice not restarted"
        assert_eq active "$(systemctl is-active unified@core.service)" "unified@core after the upgrade"
        # The metrics socket kept its listening socket, and the new exporter serves on it.
        assert_eq active "$(systemctl is-active unified-metrics.socket)" "unified-metrics.socket after the upgrade"
        assert_eq "$socket_since" "$(systemctl show -P ActiveEnterTimestampMonotonic unified-metrics.socket)" \
                "unified-metrics.socket not restarted"
        wait_until 30 curl -sf --max-time 5 -o /dev/null http://127.0.0.1:9000/metrics
        assert_ne "$exporter" "$(systemctl show -P MainPID unified-metricsd.service)" "unified-metricsd restarted"
        assert_eq "" "$(journal_since_case -u unified.slice -o cat | grep -E '^(Stopping|Stopped|Removed slice)' || true)" \
                "unified.slice stopped during the upgrade"
}

test_purge_after_upgrade_stops_everything() {
        _need_package
        systemctl is-active -q unified@core.service || {
                assert_ok systemctl start unified@core.service
                wait_until 300 state_is running
        }
        assert_ok apt-get purge -y unified
        assert_fail dpkg-query -W -f '${Status}' unified
        assert_eq "" "$(systemctl list-units --all --no-legend --plain 'unified*' --state=active,activating,deactivating,reloading)" \
                "unified units still running after purge"
        assert_ok apt-get install -y --no-install-recommends "$UNIFIED_DEB"
        assert_eq "install ok installed" "$(dpkg-query -W -f '${Status}' unified)" "dpkg status after reinstall"
}
