#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Static checks of the Grafana dashboard monitoring/grafana/unified.json.

  check-dashboard.py DASHBOARD.json METRICS-DUMP ALERTS.yaml

The dashboard has a uid and a title; its Prometheus datasource is a template variable, and every
panel and query uses it; every panel has a unique id, a place on the 24-column grid and at least
one query, each with a unique refId and a non-empty expression; every unified_* name in a query is
a sample name the renderer emits (METRICS-DUMP) and every unified:* name a recording rule of
ALERTS.yaml. That each query returns data from a real Prometheus scraping a running profile is
checked in the VM (tests/integration/cases/50-metrics.sh).
"""

import json
import re
import subprocess
import sys

DATASOURCE = {'type': 'prometheus', 'uid': '${datasource}'}


def rendered_names(dump):
    text = subprocess.run([dump], check=True, capture_output=True, text=True).stdout
    return {re.match(r'[a-zA-Z_:][a-zA-Z0-9_:]*', line).group(0)
            for line in text.splitlines() if line and not line.startswith('#')}


def panels_of(dashboard):
    for panel in dashboard.get('panels', []):
        yield panel
        yield from panel.get('panels', [])     # panels inside a collapsed row


def main(path, dump, alerts):
    errors = []

    def error(where, what):
        errors.append(f'{path}: {where}: {what}')

    try:
        dash = json.load(open(path))
    except (OSError, ValueError) as e:
        print(f'{path}: {e}')
        return 1
    emitted = rendered_names(dump)
    records = set(re.findall(r'^\s*- record:\s*(\S+)', open(alerts).read(), re.M))

    uid = dash.get('uid')
    if not isinstance(uid, str) or not re.fullmatch(r'[A-Za-z0-9_-]{1,40}', uid):
        error('uid', f'{uid!r} is not a Grafana uid (1-40 of A-Z a-z 0-9 _ -)')
    if not dash.get('title'):
        error('title', 'missing')
    if not isinstance(dash.get('schemaVersion'), int):
        error('schemaVersion', 'missing')
    variables = {v.get('name'): v for v in dash.get('templating', {}).get('list', [])}
    ds = variables.get('datasource', {})
    if ds.get('type') != 'datasource' or ds.get('query') != 'prometheus':
        error('templating', 'no variable "datasource" of type datasource for prometheus')

    ids, queries = set(), 0
    for panel in panels_of(dash):
        where = f'panel {panel.get("id")} "{panel.get("title", "")}"'
        if panel.get('id') in ids or not isinstance(panel.get('id'), int):
            error(where, 'id missing or not unique')
        ids.add(panel.get('id'))
        grid = panel.get('gridPos', {})
        if not all(isinstance(grid.get(k), int) for k in 'hwxy') or grid['x'] + grid['w'] > 24:
            error(where, f'gridPos {grid} is not on the 24-column grid')
        if not panel.get('title'):
            error(where, 'no title')
        if panel.get('type') == 'row':
            continue
        if panel.get('datasource') != DATASOURCE:
            error(where, f'datasource {panel.get("datasource")} is not {DATASOURCE}')
        targets = panel.get('targets', [])
        if not targets:
            error(where, 'no query')
        refs = [t.get('refId') for t in targets]
        if len(set(refs)) != len(refs) or not all(refs):
            error(where, f'refIds {refs} missing or not unique')
        for t in targets:
            expr = t.get('expr', '').strip()
            queries += 1
            if not expr:
                error(where, f'query {t.get("refId")} has no expression')
                continue
            if t.get('datasource') != DATASOURCE:
                error(where, f'query {t.get("refId")}: datasource {t.get("datasource")} is not {DATASOURCE}')
            for name in re.findall(r'\bunified_[a-z0-9_]+', expr):
                if name not in emitted:
                    error(where, f'{name} is not a metric the renderer emits')
            for name in re.findall(r'\bunified:[a-z0-9_:]+', expr):
                if name not in records:
                    error(where, f'{name} is not a recording rule of {alerts}')

    for e in errors:
        print(e)
    print(f'{len(ids)} panels, {queries} queries, {len(errors)} problems')
    return 1 if errors else 0


if __name__ == '__main__':
    if len(sys.argv) != 4:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        sys.exit(2)
    sys.exit(main(*sys.argv[1:]))
