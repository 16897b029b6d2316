#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Consistency checks between the renderer and the rules, beyond what promtool checks.

  check-rules.py names METRICS-DUMP ALERTS.yaml
      every unified_* metric name used in the rules is a sample name the renderer emits
  check-rules.py coverage ALERTS.yaml TESTS.yaml
      every alert has a test case where it fires and one where it does not
  check-rules.py runbooks ALERTS.yaml RUNBOOK.md BASE
      every alert has a runbook_url BASE#ANCHOR, and ANCHOR is a heading of RUNBOOK.md (as
      GitHub and most Markdown renderers make anchors: lower case, punctuation dropped)
  check-rules.py openmetrics METRICS-DUMP
      the OpenMetrics page parses with the reference parser (prometheus_client); skipped (77) if
      that module is not installed
"""

import re
import subprocess
import sys

SKIP = 77


def rendered_names(dump):
    text = subprocess.run([dump], check=True, capture_output=True, text=True).stdout
    names = set()
    for line in text.splitlines():
        if line and not line.startswith('#'):
            names.add(re.match(r'[a-zA-Z_:][a-zA-Z0-9_:]*', line).group(0))
    return names


def check_names(dump, alerts):
    emitted = rendered_names(dump)
    rules = open(alerts).read()
    # Only expressions: strip comments and annotation texts.
    exprs = '\n'.join(l.split('#', 1)[0] for l in rules.splitlines()
                      if not re.match(r'\s*(summary|description|runbook_url):', l))
    used = set(re.findall(r'\bunified_[a-z0-9_]+', exprs))
    missing = sorted(n for n in used if n not in emitted)
    for n in missing:
        print(f'{alerts}: uses {n}, which the renderer does not emit')
    print(f'{len(used)} metric names used by the rules, {len(emitted)} emitted, {len(missing)} missing')
    return 1 if missing else 0


def check_coverage(alerts, tests):
    names = re.findall(r'^\s*- alert:\s*(\S+)', open(alerts).read(), re.M)
    text = open(tests).read()
    firing, quiet = set(), set()
    # Block form: "alertname: X" then "exp_alerts:" followed by an "- exp_labels" item (fires)
    # or "exp_alerts: []" (does not fire); and the one-line flow form "{..., alertname: X, exp_alerts: []}".
    for m in re.finditer(r'alertname:\s*(\S+?),?\s*\n\s*exp_alerts:\s*(\[\]|\n\s*- exp_labels)', text):
        (quiet if m.group(2) == '[]' else firing).add(m.group(1))
    for m in re.finditer(r'alertname:\s*([A-Za-z0-9_]+),\s*exp_alerts:\s*\[\]', text):
        quiet.add(m.group(1))
    rc = 0
    for n in names:
        if n not in firing:
            print(f'{tests}: no case where {n} fires')
            rc = 1
        if n not in quiet:
            print(f'{tests}: no case where {n} stays quiet')
            rc = 1
    print(f'{len(names)} alerts, {len(firing)} with a firing case, {len(quiet)} with a quiet case')
    return rc


def heading_anchor(heading):
    slug = re.sub(r'[^\w\- ]', '', heading.strip().lower())
    return slug.replace(' ', '-')


def check_runbooks(alerts, runbook, base):
    anchors = {heading_anchor(m.group(1)) for m in re.finditer(r'^#+\s+(.*)$', open(runbook).read(), re.M)}
    text = open(alerts).read()
    names = re.findall(r'^\s*- alert:\s*(\S+)', text, re.M)
    urls = re.findall(r'^\s*runbook_url:\s*"([^"]*)"', text, re.M)
    rc = 0
    if len(urls) != len(names):
        print(f'{alerts}: {len(names)} alerts but {len(urls)} runbook_url annotations')
        rc = 1
    for url in urls:
        page, _, anchor = url.partition('#')
        if page != base:
            print(f'{alerts}: runbook_url {url} is not under {base}')
            rc = 1
        elif anchor not in anchors:
            print(f'{alerts}: runbook_url {url}: no heading of {runbook} has the anchor #{anchor}')
            rc = 1
    print(f'{len(urls)} runbook URLs under {base}, {len(anchors)} headings in {runbook}')
    return rc


def check_openmetrics(dump):
    try:
        from prometheus_client.openmetrics.parser import text_string_to_metric_families
    except ImportError:
        # A python3 other than the distribution's (a virtualenv) may be first in $PATH; Debian's
        # python3-prometheus-client lives here.
        sys.path.append('/usr/lib/python3/dist-packages')
        try:
            from prometheus_client.openmetrics.parser import text_string_to_metric_families
        except ImportError:
            print('prometheus_client is not installed, skipping')
            return SKIP
    text = subprocess.run([dump, 'openmetrics'], check=True, capture_output=True, text=True).stdout
    families = list(text_string_to_metric_families(text))
    print(f'{len(families)} families, {sum(len(f.samples) for f in families)} samples parsed')
    return 0


if __name__ == '__main__':
    mode, args = sys.argv[1], sys.argv[2:]
    sys.exit({'names': check_names, 'coverage': check_coverage, 'runbooks': check_runbooks,
              'openmetrics': check_openmetrics}[mode](*args))
