"""PostgreSQL helpers for the end-to-end tests (standard library only).

One throwaway PostgreSQL 15 cluster per test process: initdb and pg_ctl from
/usr/lib/postgresql/15/bin, run through the `postgres` user when we are root,
data and unix socket in a temp directory, listening on 127.0.0.1 at a random
free port. It starts on first use and is stopped (pg_ctl stop -m immediate,
then SIGKILL by PID) and removed at exit, also when tests fail. Each test
gets its own database.

dump_to_sqlite() copies a PostgreSQL store into an SQLite file with the same
tables, columns and value shapes as the SQLite store (ISO-8601 UTC text
timestamps, JSON as text), so lib.compare_truth() and lib.dump() work on it.
"""

import atexit
import json
import os
import pwd
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time

import lib

PG_BIN = os.environ.get('ESPSYNC_PG_BIN', '/usr/lib/postgresql/15/bin')
# The superuser's password: tests check that espsync never prints it.
PASSWORD = 'pg-pw-SECRET-3b8e1'


class Unavailable(Exception):
    pass


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Cluster:
    def __init__(self, fsync=False):
        self.fsync = fsync
        self.dir = None
        self.data = None
        self.port = None
        self.pid = None
        self.user = None

    def _as_owner(self, argv):
        if os.geteuid() == 0:
            return ['runuser', '-u', self.user, '--'] + argv
        return argv

    def _run(self, argv, timeout=120):
        p = subprocess.run(self._as_owner(argv), stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=timeout)
        if p.returncode != 0:
            raise Unavailable('%s failed (exit %d): %s' % (
                os.path.basename(argv[0]), p.returncode,
                p.stderr.decode('utf-8', 'replace').strip()[-400:]))
        return p

    def start(self):
        if not os.access(os.path.join(PG_BIN, 'initdb'), os.X_OK):
            raise Unavailable('%s/initdb is missing: run `apt-get install '
                              'postgresql` (scripts/install-deps test)'
                              % PG_BIN)
        self.user = 'postgres' if os.geteuid() == 0 else \
            pwd.getpwuid(os.geteuid()).pw_name
        self.dir = tempfile.mkdtemp(prefix='espsync-pg-')
        os.chmod(self.dir, 0o700)
        if os.geteuid() == 0:
            pw = pwd.getpwnam(self.user)
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self.data = os.path.join(self.dir, 'data')
        pwfile = os.path.join(self.dir, 'pw')
        with open(pwfile, 'w') as f:
            f.write(PASSWORD + '\n')
        if os.geteuid() == 0:
            os.chown(pwfile, pw.pw_uid, pw.pw_gid)
        self._run([os.path.join(PG_BIN, 'initdb'), '-D', self.data,
                   '-U', 'postgres', '--pwfile', pwfile, '-E', 'UTF8',
                   '--locale', 'C.UTF-8', '--auth-local', 'trust',
                   '--auth-host', 'scram-sha-256', '--no-sync'])
        os.unlink(pwfile)
        for attempt in range(3):
            self.port = free_port()
            opts = ('-c listen_addresses=127.0.0.1 -p %d -k %s '
                    '-c max_connections=40 -c shared_buffers=128MB'
                    % (self.port, self.dir))
            if not self.fsync:
                opts += (' -c fsync=off -c synchronous_commit=off '
                         '-c full_page_writes=off')
            try:
                self._run([os.path.join(PG_BIN, 'pg_ctl'), '-D', self.data,
                           '-o', opts, '-l', os.path.join(self.dir, 'log'),
                           '-w', '-t', '60', 'start'])
                break
            except Unavailable:
                if attempt == 2:
                    raise
        try:
            with open(os.path.join(self.data, 'postmaster.pid')) as f:
                self.pid = int(f.readline().strip())
        except (OSError, ValueError):
            self.pid = None
        return self

    def stop(self):
        if not self.dir:
            return
        if self.data and os.path.exists(
                os.path.join(self.data, 'postmaster.pid')):
            try:
                subprocess.run(self._as_owner(
                    [os.path.join(PG_BIN, 'pg_ctl'), '-D', self.data,
                     '-m', 'immediate', '-w', '-t', '20', 'stop']),
                    stdin=subprocess.DEVNULL, capture_output=True,
                    timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                pass
        if self.pid:
            try:
                os.kill(self.pid, 0)
                os.kill(self.pid, signal.SIGKILL)
                time.sleep(0.2)
            except OSError:
                pass
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None

    # -- access
    def url(self, db, password=PASSWORD, extra=''):
        return 'postgresql://postgres:%s@127.0.0.1:%d/%s%s' % (
            password, self.port, db, extra)

    def psql(self, db, sql, check_rc=True):
        """Runs sql; returns stdout lines (unaligned, tuples only, \\x1f
        between fields)."""
        env = dict(os.environ)
        env.update({'PGPASSWORD': PASSWORD, 'PGHOST': '127.0.0.1',
                    'PGPORT': str(self.port), 'PGUSER': 'postgres',
                    'PGDATABASE': db, 'PGCONNECT_TIMEOUT': '10'})
        p = subprocess.run([os.path.join(PG_BIN, 'psql'), '-X', '-q', '-A',
                            '-t', '-F', '\x1f', '-v', 'ON_ERROR_STOP=1',
                            '-c', sql], env=env, stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=120)
        out = p.stdout.decode('utf-8')
        if check_rc and p.returncode != 0:
            lib.fail('psql %r: %s' % (sql[:80], p.stderr.decode(
                'utf-8', 'replace').strip()[:300]))
        return [ln for ln in out.split('\n') if ln != '']

    def scalar(self, db, sql):
        rows = self.psql(db, sql)
        return rows[0] if rows else None

    def createdb(self, name):
        self.psql('postgres', 'CREATE DATABASE "%s"' % name)
        return name


_lock = threading.Lock()
_cluster = None
_error = None


def cluster():
    """The shared cluster, started on first use; lib.fail when it cannot
    start."""
    global _cluster, _error
    with _lock:
        if _cluster is None and _error is None:
            c = Cluster()
            try:
                _cluster = c.start()
                atexit.register(c.stop)
            except (Unavailable, OSError, subprocess.TimeoutExpired) as e:
                c.stop()
                _error = str(e)
        if _error:
            lib.fail('cannot start a PostgreSQL cluster: %s' % _error)
        return _cluster


_dbs = [0]


def new_db(t):
    """A fresh database for test t; its name."""
    c = cluster()
    with _lock:
        _dbs[0] += 1
        n = _dbs[0]
    name = 'e2e_%s_%d' % (''.join(ch if ch.isalnum() else '_'
                                  for ch in t.name)[:40], n)
    return c.createdb(name)


def columns(c, db, table):
    rows = c.psql(db, "SELECT column_name, data_type FROM "
                  "information_schema.columns WHERE table_name = '%s' "
                  "AND table_schema = current_schema() "
                  "ORDER BY ordinal_position" % table)
    return [tuple(r.split('\x1f')) for r in rows]


def select_expr(name, dtype):
    q = '"%s"' % name
    if dtype == 'timestamp with time zone':
        return ("to_char(%s AT TIME ZONE 'UTC', "
                "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS %s" % (q, q))
    if dtype == 'date':
        return "to_char(%s, 'YYYY-MM-DD') AS %s" % (q, q)
    if dtype in ('json', 'jsonb'):
        return '%s::text AS %s' % (q, q)
    return q


def fetch_rows(c, db, table):
    """[(column names), [row tuples]] of a PostgreSQL table, values shaped
    like the SQLite store's."""
    cols = columns(c, db, table)
    if not cols:
        return [], []
    sql = 'SELECT row_to_json(x) FROM (SELECT %s FROM "%s") x' % (
        ', '.join(select_expr(n, d) for n, d in cols), table)
    names = [n for n, _ in cols]
    rows = []
    for line in c.psql(db, sql):
        obj = json.loads(line)
        rows.append(tuple(obj[n] for n in names))
    return names, rows


STORE_TABLES = lib.DATA_TABLES + ('sync_state', 'sync_runs')


def dump_to_sqlite(db, path):
    """Writes the store tables of PostgreSQL database db into a new SQLite
    file at path."""
    c = cluster()
    if os.path.exists(path):
        os.unlink(path)
    con = sqlite3.connect(path)
    try:
        for t in STORE_TABLES:
            names, rows = fetch_rows(c, db, t)
            if not names:
                continue
            con.execute('CREATE TABLE "%s" (%s)' % (
                t, ', '.join('"%s"' % n for n in names)))
            con.executemany('INSERT INTO "%s" VALUES (%s)' % (
                t, ', '.join('?' * len(names))), rows)
        con.commit()
    finally:
        con.close()
    return path
