# SPDX-License-Identifier: LGPL-2.1-or-later
# fish completion for unifiedctl(1): commands, options, profile names (from the profile search path,
# honouring --root) and agent names (from unifiedd over the bus, if it is reachable).

function __unifiedctl_profiles
    set -l tokens (commandline -opc)
    set -l root
    for i in (seq (count $tokens))
        switch $tokens[$i]
            case '--root=*'
                set root (string replace -- --root= '' $tokens[$i])
            case --root
                set root $tokens[(math $i + 1)]
        end
    end
    for f in $root/usr/share/unified/profiles/*.yaml $root/etc/unified/profiles/*.yaml $root/run/unified/profiles/*.yaml
        string replace -r -- '^.*/(.*)\.yaml$' '$1' $f
    end | sort -u
end

function __unifiedctl_agents
    # --no-legend: one agent per line, the name first. Quietly nothing if unifiedd is not there.
    unifiedctl --no-ask-password --no-pager --no-legend agents 2>/dev/null | string replace -r ' .*' ''
end

set -l commands list status start switch stop reload restart agents health reset-breaker open-breaker chaos show export validate dot

complete -c unifiedctl -f
complete -c unifiedctl -s h -l help -d 'Show the help'
complete -c unifiedctl -l version -d 'Show the version'
complete -c unifiedctl -l json -x -a 'pretty short off' -d 'Machine-readable output'
complete -c unifiedctl -l no-legend -d 'No column headers and footers'
complete -c unifiedctl -s q -l quiet -d 'No progress line, headers, footers or summaries'
complete -c unifiedctl -l no-pager -d 'Do not pipe long output through a pager'
complete -c unifiedctl -s H -l host -x -a '(__fish_print_hostnames)' -d 'Operate on a remote host'
complete -c unifiedctl -l no-ask-password -d 'Do not ask for a password'
complete -c unifiedctl -l no-block -d 'Do not wait for start, switch or stop'
complete -c unifiedctl -l wait -d 'Wait (the default)'
complete -c unifiedctl -l timeout -x -d 'Give up waiting after DURATION'
complete -c unifiedctl -l root -x -a '(__fish_complete_directories)' -d 'Look for profiles below DIR'

complete -c unifiedctl -n "not __fish_seen_subcommand_from $commands" -a list -d 'List the profiles'
complete -c unifiedctl -n "not __fish_seen_subcommand_from $commands" -a status -d 'Show the active profile and its agents'
complete -c unifiedctl -n "not __fish_seen_subcommand_from $commands" -a start -d 'Start (or switch to) a profile'
complete -c unifiedctl -n "not __fish_seen_subcommand_from $commands" -a switch -d 'Same as start'
complete -c unifiedctl -n "not __fish_seen_subcommand_from $commands" -a stop -d 'Stop the active profile'
complete -c unifiedctl -n "not __fish_seen_subcommand_from $commands" -a reload -d 'Reload the profiles from disk'
complete -c unifiedctl -n "not __fish_seen_subcommand_from $commands" -a restart -d 'Restart one agent'
complete -c unifiedctl -n "not __fish_seen_subcommand_from $commands" -a agents -d 'List the agents of the active profile'
complete -c unifiedctl -n "not __fish_seen_subcommand_from $commands" -a health -d 'Show the health scores'
complete -c unifiedctl -n "not __fish_seen_subcommand_from $commands" -a reset-breaker -d "Close an agent's circuit breaker"
complete -c unifiedctl -n "not __fish_seen_subcommand_from $commands" -a open-breaker -d "Open an agent's circuit breaker"
complete -c unifiedctl -n "not __fish_seen_subcommand_from $commands" -a chaos -d 'Inject faults and measure recovery'
complete -c unifiedctl -n "not __fish_seen_subcommand_from $commands" -a show -d 'Show a resolved profile (offline)'
complete -c unifiedctl -n "not __fish_seen_subcommand_from $commands" -a export -d 'Print a profile as Kubernetes manifests'
complete -c unifiedctl -n "not __fish_seen_subcommand_from $commands" -a validate -d 'Check profiles (offline)'
complete -c unifiedctl -n "not __fish_seen_subcommand_from $commands" -a dot -d 'The agents as a graphviz digraph'

complete -c unifiedctl -n "__fish_seen_subcommand_from start switch stop show dot validate" -a '(__unifiedctl_profiles)'
complete -c unifiedctl -n "__fish_seen_subcommand_from show dot validate" -F
complete -c unifiedctl -n "__fish_seen_subcommand_from restart reset-breaker open-breaker" -a '(__unifiedctl_agents)'
complete -c unifiedctl -n "__fish_seen_subcommand_from export; and not __fish_seen_subcommand_from kubernetes" -a kubernetes
complete -c unifiedctl -n "__fish_seen_subcommand_from kubernetes" -a '(__unifiedctl_profiles)' -F
complete -c unifiedctl -n "__fish_seen_subcommand_from chaos; and not __fish_seen_subcommand_from inject run list" -a 'inject run list'
complete -c unifiedctl -n "__fish_seen_subcommand_from inject run" -a 'kill memory partition outage cascade stress'
