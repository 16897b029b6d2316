# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
# The Debian package: what it ships is where systemd, dbus-daemon and polkitd read it, its units
# verify, and it installs, purges and installs again cleanly. (Runs first: later files expect the
# package installed, and the last case here reinstalls it.)

_need_package() {
        [ "${UNIFIED_INSTALL:-}" = deb ] || skip "runs only with the .deb installed (this run: ${UNIFIED_INSTALL:-none})"
}

_shipped_units() {
        dpkg-query -L unified | grep -E '^(/usr)?/lib/systemd/system/[^/]+\.(service|socket|slice|target|timer|path)$'
}

test_package_installed() {
        _need_package
        assert_eq "install ok installed" "$(dpkg-query -W -f '${Status}' unified)" "dpkg status of unified"
        local f missing=()
        while read -r f; do
                [ -e "$f" ] || missing+=("$f")
        done < <(dpkg-query -L unified)
        assert_eq "" "${missing[*]}" "files listed by dpkg but missing on disk"
        assert_ok test -x /usr/bin/unifiedctl
        assert_ok test -x /usr/libexec/unified/unifiedd
        assert_ok test -d "$UNIFIED_PROFILE_DIR"
}

test_units_verify() {
        _need_package
        local units path name
        units=$(_shipped_units)
        assert_match '/unified\.service($|[[:space:]])' "$units" "unified.service among the shipped units"
        assert_match '/unified@\.service($|[[:space:]])' "$units" "unified@.service among the shipped units"
        for path in $units; do
                name=${path##*/}
                # A template verifies through an instance of it, loaded from the unit path.
                case $name in *@.*) name=${name/@./@verify.} ;; *) name=$path ;; esac
                echo "systemd-analyze verify $name"
                # --man=no: the image has no man-db; the pages are checked directly below.
                assert_ok systemd-analyze verify --man=no "$name"
        done
        # Every man page a shipped unit points to is shipped.
        local doc page section
        for doc in $(sed -n 's/^Documentation=//p' $units); do
                [[ $doc =~ ^man:([^()]+)\(([0-9a-z]+)\)$ ]] || continue
                page=${BASH_REMATCH[1]} section=${BASH_REMATCH[2]}
                assert_ok test -e "/usr/share/man/man${section:0:1}/$page.$section.gz"
        done
}

test_dbus_policy_where_dbus_reads_it() {
        _need_package
        local policy
        policy=$(dpkg-query -L unified | grep -E '^/(usr/share|etc)/dbus-1/system\.d/[^/]+\.conf$' || true)
        assert_match 'org\.unified1\.conf' "$policy" "a D-Bus policy for org.unified1 in system.d"
        # dbus-daemon reads system.d next to its system.conf (and /etc/dbus-1/system.d).
        assert_match "<includedir>system\.d</includedir>" "$(cat /usr/share/dbus-1/system.conf)" "dbus includes system.d"
        # A policy dbus-daemon rejects is logged when it reloads; the reload must be clean.
        assert_ok busctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus ReloadConfig
        sleep 0.5
        assert_eq "" "$(journal_since_case -u dbus.service | grep -iE 'unable|fail|error' || true)" \
                "dbus-daemon complaints after reloading its configuration"
        # Bus activation: the name is activatable and the daemon answers.
        assert_match '"org\.unified1"' "$(busctl call org.freedesktop.DBus /org/freedesktop/DBus \
                org.freedesktop.DBus ListActivatableNames)" "org.unified1 is activatable"
}

test_daemon_answers_on_the_bus() {
        _need_package
        local version
        version=$(dpkg-query -W -f '${Version}' unified)
        assert_eq "s \"${version%%-*}\"" \
                "$(busctl get-property org.unified1 /org/unified1 org.unified1.Manager Version)" \
                "Manager.Version of the bus-activated daemon"
        assert_eq active "$(systemctl is-active unified.service)" "unified.service after bus activation"
}

test_polkit_actions() {
        _need_package
        local actions
        actions=$(pkaction)
        assert_match 'org\.unified1\.manage-profiles' "$actions" "pkaction"
        assert_match 'org\.unified1\.manage-agents' "$actions" "pkaction"
        assert_match 'org\.unified1\.inject-faults' "$actions" "pkaction"
        # The defaults (docs/security.md): systemd's manage-units defaults for managing profiles and
        # agents, so that an administrator over ssh can authenticate; fault injection asks every time.
        local action implicit
        for action in manage-profiles manage-agents; do
                implicit=$(pkaction --verbose --action-id "org.unified1.$action" | grep -E '^ *implicit ')
                assert_match 'implicit any: *auth_admin'$'\n'' *implicit inactive: *auth_admin'$'\n'' *implicit active: *auth_admin_keep' \
                        "$implicit" "polkit defaults of org.unified1.$action"
        done
        implicit=$(pkaction --verbose --action-id org.unified1.inject-faults | grep -E '^ *implicit ')
        assert_match 'implicit any: *auth_admin'$'\n'' *implicit inactive: *auth_admin'$'\n'' *implicit active: *auth_admin$' \
                "$implicit" "polkit defaults of org.unified1.inject-faults"
        local file
        file=$(dpkg-query -L unified | grep -E '^/usr/share/polkit-1/actions/[^/]+\.policy$' || true)
        assert_match 'org\.unified1\.policy' "$file" "the polkit policy is in /usr/share/polkit-1/actions"
}

# What the man pages and the alert rules point to is installed, uncompressed, where they say.
test_docs_where_they_are_cited() {
        _need_package
        local cited f missing=() url
        cited=$(zcat $(dpkg-query -L unified | grep -E '^/usr/share/man/man[0-9]/.*\.gz$') |
                sed 's/\\-/-/g; s/\\&//g' | grep -oE '/usr/share/doc/unified/[A-Za-z0-9._-]+\.md' | sort -u)
        assert_match dbus-api\.md "$cited" "documents cited by the man pages"
        for f in $cited /usr/share/doc/unified/runbook.md /usr/share/doc/unified/dbus-api.md; do
                [ -f "$f" ] || missing+=("$f")
        done
        assert_eq "" "${missing[*]}" "documents cited by the man pages or the rules but not installed"
        # Every runbook_url of the installed rules is the installed runbook.
        while read -r url; do
                assert_match '^file:///usr/share/doc/unified/runbook\.md#[a-z0-9-]+$' "$url" "runbook_url"
        done < <(sed -n 's/^ *runbook_url: *"\(.*\)"$/\1/p' /usr/share/unified/monitoring/alerts.yaml)
        assert_ok grep -q runbook_url /usr/share/unified/monitoring/alerts.yaml
        # The Grafana dashboard is installed and is JSON with a uid.
        assert_eq unified-overview "$(jq -r .uid /usr/share/unified/grafana/unified.json)" "dashboard uid"
}

test_purge_and_reinstall() {
        _need_package
        local files leftovers=() f
        files=$(dpkg-query -L unified)
        systemctl start unified.service
        assert_eq active "$(systemctl is-active unified.service)" "unified.service before purge"

        assert_ok apt-get purge -y unified
        assert_fail dpkg-query -W -f '${Status}' unified
        assert_eq "" "$(systemctl list-units --no-legend --plain 'unified*' --state=active,activating,deactivating)" \
                "unified units still running after purge"
        for f in $files; do
                [ -d "$f" ] && continue         # directories shared with other packages stay
                if [ -e "$f" ] || [ -L "$f" ]; then
                        leftovers+=("$f")
                fi
        done
        assert_eq "" "${leftovers[*]}" "files of the package left after purge"
        assert_fail test -e /etc/unified
        assert_fail test -e /var/lib/unified
        # Nothing of it left for systemd, dbus or polkit.
        systemctl daemon-reload
        assert_eq "not-found" "$(systemctl show -P LoadState unified.service)" "unified.service after purge"
        assert_fail grep -q 'org\.unified1\.' <(pkaction)

        assert_ok apt-get install -y --no-install-recommends "$UNIFIED_DEB"
        assert_eq "install ok installed" "$(dpkg-query -W -f '${Status}' unified)" "dpkg status after reinstall"
}
