"""BigQuery helpers for the end-to-end tests: the fake BigQuery
(tests/e2e/bq-fake: Node + DuckDB from npm, installed with npm ci into a
cache directory, run on a random loopback port), a service-account key
made with openssl whose token_uri points at the fake, and a copy of the
fake's dataset into an SQLite file with espsync's SQLite column names so
lib.compare_truth() can judge it.

Environment: ESPSYNC_MONGO_CACHE (install directory, shared with the
MongoDB test server; default ~/.cache/espsync-e2e), NODE and NPM."""

import hashlib
import fcntl
import json
import os
import shutil
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request

import lib
import mongoutil
from lib import fail

FAKE_DIR = os.path.join(lib.HERE, 'bq-fake')
PROJECT = 'demo-proj'
DATASET = 'marketing'
SA_EMAIL = 'espsync-test@demo-proj.iam.gserviceaccount.com'
KEY_ID = 'f00dfacecafe0123456789abcdef4a7b'


def install():
    if not shutil.which(mongoutil.NODE) or not shutil.which(mongoutil.NPM):
        fail('node and npm are needed for the BigQuery fake '
             '(scripts/install-deps test)')
    h = hashlib.sha256()
    for fn in ('package.json', 'package-lock.json'):
        with open(os.path.join(FAKE_DIR, fn), 'rb') as f:
            h.update(f.read())
    root = mongoutil._cache_root()
    os.makedirs(root, exist_ok=True)
    dest = os.path.join(root, 'bq-fake-' + h.hexdigest()[:12])
    with open(os.path.join(root, '.lock'), 'w') as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        if not os.path.exists(os.path.join(dest, '.complete')):
            shutil.rmtree(dest, ignore_errors=True)
            os.makedirs(dest)
            for fn in ('package.json', 'package-lock.json'):
                shutil.copy(os.path.join(FAKE_DIR, fn), dest)
            mongoutil._run([mongoutil.NPM, 'ci', '--ignore-scripts',
                            '--no-audit', '--no-fund', '--loglevel=error'],
                           dest, 'npm ci (BigQuery fake)')
            open(os.path.join(dest, '.complete'), 'w').close()
    # the server script is copied every time (it is not part of the hash)
    shutil.copy(os.path.join(FAKE_DIR, 'server.mjs'), dest)
    return dest


def make_key(workdir):
    """A PEM RSA key made with openssl; returns its path."""
    os.makedirs(workdir, exist_ok=True)
    pem = os.path.join(workdir, 'key.pem')
    if not os.path.exists(pem):
        subprocess.run(['openssl', 'genrsa', '-out', pem, '2048'],
                       check=True, capture_output=True)
    return pem


class Fake:
    """One fake BigQuery on 127.0.0.1, stopped by PID (sits in t.sims)."""

    def __init__(self, workdir, refresh=None):
        self.workdir = workdir
        self.refresh = refresh
        self.proc = None
        self.port = None
        self.port_file = os.path.join(workdir, 'bq.port')
        self.log_path = os.path.join(workdir, 'bq.log')
        self.key_path = os.path.join(workdir, 'sa.json')

    def start(self):
        dest = install()
        pem = make_key(self.workdir)
        with open(pem) as f:
            key = f.read()
        # token_uri gets the port once it is known
        self._write_key(key, 'http://127.0.0.1:0/token')
        argv = [mongoutil.NODE, os.path.join(dest, 'server.mjs'),
                self.port_file, '--key', self.key_path]
        if self.refresh:
            argv += ['--refresh', self.refresh]
        log = open(self.log_path, 'wb')
        try:
            self.proc = subprocess.Popen(argv, cwd=dest,
                                         stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=log)
        finally:
            log.close()
        deadline = time.monotonic() + 30 * lib.TIMEOUT_SCALE
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                with open(self.log_path, 'rb') as f:
                    tail = f.read().decode('utf-8', 'replace')[-300:]
                fail('BigQuery fake exited with %s: %s' %
                     (self.proc.returncode, tail))
            try:
                with open(self.port_file) as f:
                    self.port = int(f.read().strip())
                break
            except (OSError, ValueError):
                time.sleep(0.05)
        else:
            fail('BigQuery fake wrote no port within 30s')
        self._write_key(key, self.url + '/token')
        self.private_key = key
        return self

    def _write_key(self, pem, token_uri):
        with open(self.key_path, 'w') as f:
            json.dump({'type': 'service_account', 'project_id': PROJECT,
                       'private_key_id': KEY_ID, 'private_key': pem,
                       'client_email': SA_EMAIL,
                       'client_id': '1234567890',
                       'token_uri': token_uri}, f)
        os.chmod(self.key_path, 0o600)

    @property
    def url(self):
        return 'http://127.0.0.1:%d' % self.port

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)

    def _req(self, path, body=None):
        data = None if body is None else (
            body if isinstance(body, bytes) else json.dumps(body).encode())
        req = urllib.request.Request(self.url + path, data=data,
                                     method='POST' if data else 'GET')
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read().decode())

    def faults(self, **kw):
        return self._req('/_fake/faults', kw)

    def stats(self):
        return self._req('/_fake/stats')

    def table(self, name, ds=DATASET):
        return self._req('/_fake/table?t=%s.%s' % (ds, name))

    def sql(self, text):
        return self._req('/_fake/sql', text.encode())

    def token(self):
        """An access token from the fake's metadata server."""
        req = urllib.request.Request(
            self.url + '/computeMetadata/v1/instance/service-accounts/'
            'default/token', headers={'Metadata-Flavor': 'Google'})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read().decode())['access_token']

    def query(self, sql):
        """Runs sql through the REST API as a client would (jobs.query,
        then getQueryResults pages); returns (column names, rows of
        strings or None)."""
        hdr = {'Authorization': 'Bearer ' + self.token(),
               'Content-Type': 'application/json'}
        base = self.url + '/bigquery/v2/projects/%s/queries' % PROJECT

        def call(url, body=None):
            req = urllib.request.Request(
                url, headers=hdr, method='POST' if body else 'GET',
                data=json.dumps(body).encode() if body else None)
            try:
                with urllib.request.urlopen(req, timeout=60) as r:
                    return json.loads(r.read().decode())
            except urllib.error.HTTPError as e:
                fail('jobs.query %r: HTTP %d %s' % (
                    sql[:80], e.code, e.read().decode()[:300]))

        page = call(base, {'query': sql, 'useLegacySql': False,
                           'maxResults': 500})
        names = [f['name'] for f in page['schema']['fields']]
        rows = []
        while True:
            rows += [tuple(c['v'] for c in r['f'])
                     for r in page.get('rows', [])]
            if not page.get('pageToken'):
                return names, rows
            page = call('%s/%s?pageToken=%s&maxResults=500' % (
                base, page['jobReference']['jobId'], page['pageToken']))

    def patch_table(self, name, body, ds=DATASET):
        """tables.patch through the REST API, as a client would."""
        req = urllib.request.Request(
            self.url + '/bigquery/v2/projects/%s/datasets/%s/tables/%s' % (
                PROJECT, ds, name), method='PATCH',
            data=json.dumps(body).encode(),
            headers={'Authorization': 'Bearer ' + self.token(),
                     'Content-Type': 'application/json'})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read().decode())

    def hold(self, at, skip=0):
        """Leaves the (skip+1)-th request at point `at` unanswered (see
        server.mjs); stats()['held'] counts the requests held."""
        return self.faults(hold={'at': at, 'skip': skip})

    def store_url(self, ds=DATASET):
        return 'bigquery://%s/%s' % (PROJECT, ds)

    def env(self, t):
        env = t.base_env()
        env['GOOGLE_APPLICATION_CREDENTIALS'] = self.key_path
        env['BIGQUERY_API_URL'] = self.url
        env['ESPSYNC_BQ_BACKOFF_MS'] = '20'
        return env

    def to_sqlite(self, path, ds=DATASET):
        """The dataset as an SQLite file with espsync's SQLite column names
        and text forms (timestamps YYYY-MM-DDTHH:MM:SSZ)."""
        dump = self._req('/_fake/dump?ds=%s' % ds)
        if os.path.exists(path):
            os.unlink(path)
        con = sqlite3.connect(path)
        for name, t in dump.items():
            if name.startswith('_stage_'):
                continue
            cols = list(t['types'])
            con.execute('CREATE TABLE %s (%s)' % (name, ', '.join(cols)))
            for row in t['rows']:
                vals = []
                for c in cols:
                    v = row.get(c)
                    if v is not None and t['types'][c] == 'TIMESTAMP':
                        v = v.replace(' ', 'T')[:19] + 'Z'
                    elif v is not None and t['types'][c] == 'INT64':
                        v = int(v)
                    vals.append(v)
                con.execute('INSERT INTO %s VALUES (%s)' %
                            (name, ','.join('?' * len(cols))), vals)
        con.commit()
        con.close()
        return path


def start(t, **kw):
    f = Fake(t.path('.bq'), **kw)
    t.sims.append(f)
    return f.start()
