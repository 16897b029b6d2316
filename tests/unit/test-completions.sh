#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The zsh and fish completions of unifiedctl, run by the shells themselves: commands, --json= modes,
# profile names below --root, chaos's fault kinds. Exit 77 (skipped) if neither shell is installed.
set -euo pipefail
src=${UNIFIED_SOURCE_ROOT:?}/src/ctl
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/root/usr/share/unified/profiles" "$tmp/root/etc/unified/profiles" "$tmp/zsh"
touch "$tmp/root/usr/share/unified/profiles/"{core,vision}.yaml "$tmp/root/etc/unified/profiles/core.yaml"
cp "$src/unifiedctl.zsh-completion" "$tmp/zsh/_unifiedctl"

failed=0 ran=0
check() { # what expected seen
        if [ "$2" = "$3" ]; then
                echo "ok - $1"
        else
                echo "not ok - $1"
                printf '  expected: %s\n  seen:     %s\n' "$2" "$3"
                failed=1
        fi
}
words() { tr -s ' \t\n' '\n\n\n' | sed '/^$/d' | sort -u | tr '\n' ' ' | sed 's/ $//'; }

if command -v fish >/dev/null; then
        ran=1
        fish_complete() {
                fish --no-config -c "source '$src/unifiedctl.fish'; complete -C '$1'" | cut -f1 | words
        }
        check "fish: commands" "show start status stop switch" "$(fish_complete 'unifiedctl s')"
        check "fish: --json=" "--json=off --json=pretty --json=short" "$(fish_complete 'unifiedctl --json=')"
        check "fish: profiles below --root DIR" "core vision" "$(fish_complete "unifiedctl --root $tmp/root start ")"
        check "fish: profiles below --root=DIR" "core vision" "$(fish_complete "unifiedctl --root=$tmp/root switch ")"
        check "fish: export" "kubernetes" "$(fish_complete 'unifiedctl export ')"
        check "fish: fault kinds" "cascade kill memory outage partition stress" \
                "$(fish_complete 'unifiedctl chaos inject ')"
fi

if command -v zsh >/dev/null; then
        ran=1
        # Completion widgets only run in zle: an interactive zsh on a pseudo-terminal, where TAB runs
        # the completion and a compadd wrapper writes down what would be offered.
        zsh_complete() {
                local log=$tmp/zsh.log
                : >"$log"
                zsh -f -c '
                        zmodload zsh/zpty
                        zpty z zsh -f -i
                        zpty -w z "fpath=($1 \$fpath); autoload -Uz compinit; compinit -u -D"
                        zpty -w z "compadd() { local -a r; builtin compadd -O r \"\$@\"; print -rl -- \$r >>$3; builtin compadd \"\$@\"; }"
                        zpty -w z "print REA\"\"DY"
                        zpty -r -m z _ "*READY*"
                        zpty -n -w z "$2"$'"'"'\t'"'"'
                        # Typing on at once would cut the completion short (zle sees pending input):
                        # wait for its first candidates, then a moment for the rest.
                        for i in {1..100}; do [[ -s $3 ]] && break; sleep 0.1; done
                        sleep 0.5
                        zpty -d z' zsh "$tmp/zsh" "$1" "$log"
                words <"$log"
        }
        check "zsh: commands" "show start status stop switch" "$(zsh_complete 'unifiedctl s')"
        check "zsh: --json=" "off pretty short" "$(zsh_complete 'unifiedctl --json=')"
        check "zsh: profiles below --root DIR" "core vision" "$(zsh_complete "unifiedctl --root $tmp/root start ")"
        check "zsh: profiles below --root=DIR" "core vision" "$(zsh_complete "unifiedctl --root=$tmp/root stop ")"
        check "zsh: export" "kubernetes" "$(zsh_complete 'unifiedctl export ')"
        check "zsh: fault kinds" "cascade kill memory outage partition stress" \
                "$(zsh_complete 'unifiedctl chaos inject ')"
fi

[ $ran = 1 ] || { echo "neither zsh nor fish is installed"; exit 77; }
exit $failed
