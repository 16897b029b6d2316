#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A real Prometheus scrapes the real HTTP server and renderer (tests/monitoring/metrics-serve) with
the shipped rules loaded. Healthy: no alert fires and unified:system_health:score is 1. After the
non-essential agent "crashy" opens its breaker: UnifiedAgentBreakerOpen fires and the score drops
below 1. Usage: prometheus-e2e.py PROMETHEUS METRICS-SERVE ALERTS.yaml (skipped, 77, without PROMETHEUS)."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def query(base, path, **params):
    url = f'{base}{path}?{urllib.parse.urlencode(params)}'
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.load(r)['data']


def wait_for(what, predicate, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            value = predicate()
            if value:
                return value
        except (OSError, KeyError, ValueError):
            pass
        time.sleep(1)
    sys.exit(f'timed out waiting for {what}')


def score(base):
    result = query(base, '/api/v1/query', query='unified:system_health:score')['result']
    return float(result[0]['value'][1]) if result else None


def firing(base):
    return sorted(a['labels']['alertname'] for a in query(base, '/api/v1/alerts')['alerts']
                  if a['state'] == 'firing')


def main(prometheus, serve, alerts):
    if not shutil.which(prometheus):
        print('prometheus not found, skipping')
        return 77
    tmp = tempfile.mkdtemp(prefix='prometheus-e2e-')
    server = subprocess.Popen([serve], stdout=subprocess.PIPE, text=True)
    prom = None
    try:
        port = int(server.stdout.readline())
        web = free_port()
        base = f'http://127.0.0.1:{web}'
        with open(os.path.join(tmp, 'prometheus.yml'), 'w') as f:
            f.write(f'''global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: ['{os.path.abspath(alerts)}']
scrape_configs:
  - job_name: unified
    static_configs:
      - targets: ['127.0.0.1:{port}']
''')
        prom = subprocess.Popen([prometheus, f'--config.file={tmp}/prometheus.yml',
                                 f'--storage.tsdb.path={tmp}/data', f'--web.listen-address=127.0.0.1:{web}'],
                                stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, 'log'), 'w'))

        wait_for('the target to be up', lambda: query(base, '/api/v1/query', query='up{job="unified"} == 1')['result'], 60)
        wait_for('the health score', lambda: score(base) is not None, 30)
        time.sleep(5)
        s, f = score(base), firing(base)
        print(f'healthy: score {s}, firing {f}')
        if s != 1 or f:
            return 1

        server.send_signal(signal.SIGUSR1)
        t0 = time.monotonic()
        wait_for('UnifiedAgentBreakerOpen to fire', lambda: 'UnifiedAgentBreakerOpen' in firing(base), 90)
        s, f = score(base), firing(base)
        print(f'breaker open: firing after {time.monotonic() - t0:.0f} s: {f}; score {s}')
        alert = [a for a in query(base, '/api/v1/alerts')['alerts']
                 if a['labels']['alertname'] == 'UnifiedAgentBreakerOpen'][0]
        if alert['labels'].get('agent') != 'crashy' or not s < 1:
            return 1
        return 0
    finally:
        if prom:
            prom.terminate()
            prom.wait(30)
        server.terminate()
        server.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main(*sys.argv[1:]))
