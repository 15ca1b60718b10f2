"""MongoDB helpers for the end-to-end tests: the test server (CongoDB from
@push.rocks/smartmongo, installed with npm into a cache directory and run
under Node on a random port), a minimal wire-protocol client (BSON + OP_MSG,
no driver needed), and a copy of a MongoDB store into an SQLite file with
espsync's SQLite schema so lib.compare_truth() can judge it.

Environment: ESPSYNC_MONGO_CACHE (install directory; default
~/.cache/espsync-e2e), NODE and NPM (programs)."""

import datetime
import fcntl
import hashlib
import json
import os
import shutil
import socket
import sqlite3
import struct
import subprocess
import tarfile
import time

import lib
from lib import fail

SERVER_DIR = os.path.join(lib.HERE, 'mongo-server')
NODE = os.environ.get('NODE') or 'node'
NPM = os.environ.get('NPM') or 'npm'
UTC = datetime.timezone.utc


# ---------------------------------------------------------------- BSON

class ObjectId(bytes):
    def __repr__(self):
        return 'ObjectId(%s)' % self.hex()


class Int64(int):
    """An integer that was stored as BSON int64."""


def _cstring(s):
    b = s.encode()
    if b'\0' in b:
        raise ValueError('NUL in key')
    return b + b'\0'


def encode(doc):
    out = bytearray()
    for k, v in doc.items():
        out += _element(k, v)
    return struct.pack('<i', len(out) + 5) + bytes(out) + b'\0'


def _element(k, v):
    key = _cstring(str(k))
    if isinstance(v, bool):
        return b'\x08' + key + (b'\x01' if v else b'\x00')
    if isinstance(v, int):
        if -2**31 <= v < 2**31 and not isinstance(v, Int64):
            return b'\x10' + key + struct.pack('<i', v)
        return b'\x12' + key + struct.pack('<q', v)
    if isinstance(v, float):
        return b'\x01' + key + struct.pack('<d', v)
    if isinstance(v, str):
        b = v.encode()
        return b'\x02' + key + struct.pack('<i', len(b) + 1) + b + b'\0'
    if v is None:
        return b'\x0a' + key
    if isinstance(v, ObjectId):
        return b'\x07' + key + bytes(v)
    if isinstance(v, datetime.datetime):
        ms = int(v.timestamp() * 1000)
        return b'\x09' + key + struct.pack('<q', ms)
    if isinstance(v, dict):
        return b'\x03' + key + encode(v)
    if isinstance(v, (list, tuple)):
        return b'\x04' + key + encode({str(i): x for i, x in enumerate(v)})
    raise TypeError('cannot encode %r' % type(v))


def decode(data, pos=0):
    """(document, end position) of the BSON document at pos."""
    size = struct.unpack_from('<i', data, pos)[0]
    end = pos + size
    pos += 4
    doc = {}
    while pos < end - 1:
        t = data[pos]
        pos += 1
        z = data.index(b'\0', pos)
        key = data[pos:z].decode()
        pos = z + 1
        if t == 0x01:
            v = struct.unpack_from('<d', data, pos)[0]
            pos += 8
        elif t == 0x02:
            n = struct.unpack_from('<i', data, pos)[0]
            v = data[pos + 4:pos + 4 + n - 1].decode()
            pos += 4 + n
        elif t in (0x03, 0x04):
            v, pos = decode(data, pos)
            if t == 0x04:
                v = list(v.values())
        elif t == 0x05:
            n = struct.unpack_from('<i', data, pos)[0]
            v = bytes(data[pos + 5:pos + 5 + n])
            pos += 5 + n
        elif t == 0x07:
            v = ObjectId(data[pos:pos + 12])
            pos += 12
        elif t == 0x08:
            v = data[pos] != 0
            pos += 1
        elif t == 0x09:
            ms = struct.unpack_from('<q', data, pos)[0]
            v = datetime.datetime(1970, 1, 1, tzinfo=UTC) + \
                datetime.timedelta(milliseconds=ms)
            pos += 8
        elif t == 0x0a:
            v = None
        elif t == 0x10:
            v = struct.unpack_from('<i', data, pos)[0]
            pos += 4
        elif t in (0x11, 0x12):
            v = struct.unpack_from('<q' if t == 0x12 else '<Q', data, pos)[0]
            v = Int64(v) if t == 0x12 else v
            pos += 8
        else:
            raise ValueError('BSON type 0x%02x not supported' % t)
        doc[key] = v
    return doc, end


# ---------------------------------------------------------------- client

class Client:
    """Commands over OP_MSG on one socket; no authentication."""

    def __init__(self, port, host='127.0.0.1', timeout=30):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.req = 0

    def close(self):
        self.sock.close()

    def _recv(self, n):
        buf = b''
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError('server closed the connection')
            buf += chunk
        return buf

    def command(self, db, cmd):
        self.req += 1
        body = dict(cmd)
        body['$db'] = db
        payload = struct.pack('<I', 0) + b'\0' + encode(body)
        msg = struct.pack('<iiii', 16 + len(payload), self.req, 0, 2013)
        self.sock.sendall(msg + payload)
        hdr = self._recv(16)
        length, _, _, op = struct.unpack('<iiii', hdr)
        data = self._recv(length - 16)
        if op != 2013 or data[4] != 0:
            raise ValueError('unexpected reply opcode %d' % op)
        reply, _ = decode(data, 5)
        if not reply.get('ok'):
            raise RuntimeError('command %s failed: %s' %
                               (next(iter(cmd)), reply.get('errmsg')))
        return reply

    def _cursor(self, db, coll, reply):
        cur = reply['cursor']
        docs = list(cur.get('firstBatch', []))
        while cur.get('id'):
            cur = self.command(db, {'getMore': Int64(cur['id']),
                                    'collection': coll})['cursor']
            docs += cur.get('nextBatch', [])
        return docs

    def find(self, db, coll, filt=None, sort=None):
        cmd = {'find': coll, 'filter': filt or {}, 'batchSize': 100000}
        if sort:
            cmd['sort'] = sort
        return self._cursor(db, coll, self.command(db, cmd))

    def aggregate(self, db, coll, pipeline):
        r = self.command(db, {'aggregate': coll, 'pipeline': pipeline,
                              'cursor': {'batchSize': 100000}})
        return self._cursor(db, coll, r)

    def indexes(self, db, coll):
        r = self.command(db, {'listIndexes': coll, 'cursor': {}})
        return self._cursor(db, coll, r)

    def collections(self, db):
        r = self.command(db, {'listCollections': 1, 'cursor': {}})
        return sorted(c['name'] for c in self._cursor(db, None, r))

    def insert(self, db, coll, docs):
        return self.command(db, {'insert': coll, 'documents': docs})


# ---------------------------------------------------------------- server

def _cache_root():
    return os.environ.get('ESPSYNC_MONGO_CACHE') or os.path.join(
        os.path.expanduser('~'), '.cache', 'espsync-e2e')


def _run(argv, cwd, what):
    p = subprocess.run(argv, cwd=cwd, stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=600)
    if p.returncode != 0:
        tail = (p.stderr or p.stdout).decode('utf-8', 'replace')
        fail('%s failed (exit %d): %s' % (what, p.returncode,
                                          tail.strip()[-300:]))
    return p.stdout.decode('utf-8', 'replace')


def install():
    """Directory with node_modules and smartmongo's dist_ts/congodb;
    installed once per package.json/package-lock.json content."""
    if not shutil.which(NODE) or not shutil.which(NPM):
        fail('node and npm are needed for the MongoDB test server '
             '(scripts/install-deps test)')
    h = hashlib.sha256()
    for fn in ('package.json', 'package-lock.json', 'start.mjs'):
        with open(os.path.join(SERVER_DIR, fn), 'rb') as f:
            h.update(f.read())
    root = _cache_root()
    os.makedirs(root, exist_ok=True)
    dest = os.path.join(root, 'mongo-server-' + h.hexdigest()[:12])
    congo = os.path.join(dest, 'smartmongo', 'package', 'dist_ts', 'congodb')
    with open(os.path.join(root, '.lock'), 'w') as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        if os.path.exists(os.path.join(dest, '.complete')):
            return dest, congo
        shutil.rmtree(dest, ignore_errors=True)
        os.makedirs(dest)
        for fn in ('package.json', 'package-lock.json', 'start.mjs'):
            shutil.copy(os.path.join(SERVER_DIR, fn), dest)
        _run([NPM, 'ci', '--ignore-scripts', '--no-audit', '--no-fund',
              '--loglevel=error'], dest, 'npm ci (MongoDB test server)')
        with open(os.path.join(SERVER_DIR, 'package.json')) as f:
            pin = json.load(f)['smartmongo']
        out = _run([NPM, 'pack', pin['spec'], '--json', '--loglevel=error'],
                   dest, 'npm pack %s' % pin['spec'])
        info = json.loads(out)[0]
        if info.get('integrity') != pin['integrity']:
            fail('npm pack %s: integrity %s, expected %s' %
                 (pin['spec'], info.get('integrity'), pin['integrity']))
        tgz = os.path.join(dest, info['filename'])
        os.makedirs(os.path.join(dest, 'smartmongo'))
        with tarfile.open(tgz) as tf:
            for m in tf.getmembers():
                if m.name.startswith('/') or '..' in m.name.split('/'):
                    fail('unsafe path in %s: %s' % (tgz, m.name))
            tf.extractall(os.path.join(dest, 'smartmongo'))
        os.unlink(tgz)
        open(os.path.join(dest, '.complete'), 'w').close()
    return dest, congo


class Server:
    """One CongoDB process on 127.0.0.1 at a random port, stopped by PID.
    Has stop() so it can sit in Context.sims and be stopped with them."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.proc = None
        self.port = None
        self.log_path = os.path.join(workdir, 'mongo.log')
        self.port_file = os.path.join(workdir, 'mongo.port')

    def start(self):
        dest, congo = install()
        os.makedirs(self.workdir, exist_ok=True)
        log = open(self.log_path, 'wb')
        try:
            self.proc = subprocess.Popen(
                [NODE, os.path.join(dest, 'start.mjs'), self.port_file,
                 congo], cwd=dest, stdin=subprocess.DEVNULL, stdout=log,
                stderr=log)
        finally:
            log.close()
        deadline = time.monotonic() + 30 * lib.TIMEOUT_SCALE
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                with open(self.log_path, 'rb') as f:
                    tail = f.read().decode('utf-8', 'replace')[-300:]
                fail('MongoDB test server exited with %s: %s' %
                     (self.proc.returncode, tail))
            try:
                with open(self.port_file) as f:
                    self.port = int(f.read().strip())
                break
            except (OSError, ValueError):
                time.sleep(0.05)
        else:
            fail('MongoDB test server wrote no port within 30s')
        return self

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)

    def url(self, db, userinfo=''):
        return 'mongodb://%s127.0.0.1:%d/%s' % (
            userinfo + '@' if userinfo else '', self.port, db)

    def client(self):
        return Client(self.port)


def start(t):
    """A server for test context t, stopped with its simulators."""
    s = Server(t.path('.mongo'))
    t.sims.append(s)
    return s.start()


def free_port():
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- checks

NATURAL_KEYS = {
    'campaigns': ('provider', 'account', 'campaign_id'),
    'campaign_links': ('provider', 'account', 'campaign_id', 'url'),
    'participants': ('provider', 'account', 'campaign_id', 'contact_id'),
    'email_activities': ('event_id',),
    'contacts': ('provider', 'account', 'contact_id'),
    'lists': ('provider', 'account', 'list_id'),
    'sync_state': ('provider', 'account', 'stream'),
    'sync_runs': ('run_id',),
}


def duplicates(cl, db, coll, keys):
    """Groups of documents sharing the natural key (by aggregation, since
    the test server does not enforce unique indexes)."""
    group = {'_id': {k: '$' + k for k in keys}, 'n': {'$sum': 1}}
    return cl.aggregate(db, coll, [{'$group': group},
                                   {'$match': {'n': {'$gt': 1}}}])


def iso(v):
    if v is None:
        return None
    return v.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')


def jtext(v):
    return None if v is None else json.dumps(v, separators=(',', ':'))


def to_sqlite(cl, db, path):
    """Writes the MongoDB store's data as espsync's SQLite tables (the
    columns lib.compare_truth reads). Bounces come back as hard: the
    earlier tool's schema has one bounced counter."""
    con = sqlite3.connect(path)
    flags = lib.FLAGS
    con.execute('CREATE TABLE campaigns (provider, account, campaign_id, '
                'name, subject, from_name, from_email, status, created_at, '
                'sent_at, to_lists, %s)' % ', '.join(lib.STAT_COLS))
    for d in cl.find(db, 'campaigns'):
        s = d['statistics']
        stats = (s['sent']['total'], s['opened']['unique'],
                 s['opened']['total'], s['clicked']['unique'],
                 s['clicked']['total'], s['bounced']['total'], 0,
                 s['complained']['total'], s['unsubscribed']['total'])
        con.execute('INSERT INTO campaigns VALUES (%s)' %
                    ','.join('?' * (11 + len(stats))),
                    (d['provider'], d['account'], d['campaign_id'],
                     d['name'], d['subject'], d['from_name'],
                     d['from_email'], d['status'], iso(d['created_at']),
                     iso(d['sent_at']), jtext(d['to_lists'])) + stats)
    con.execute('CREATE TABLE campaign_links (provider, account, '
                'campaign_id, url, clicked_total, clicked_unique)')
    for d in cl.find(db, 'campaign_links'):
        con.execute('INSERT INTO campaign_links VALUES (?,?,?,?,?,?)',
                    tuple(d[k] for k in ('provider', 'account',
                                         'campaign_id', 'url',
                                         'clicked_total', 'clicked_unique')))
    con.execute('CREATE TABLE participants (provider, account, campaign_id, '
                'contact_id, email_address, status, fields, %s)' %
                ', '.join(flags))
    for d in cl.find(db, 'participants'):
        con.execute('INSERT INTO participants VALUES (?,?,?,?,?,?,?,?,?,?,'
                    '?,?)',
                    (d['provider'], d['account'], d['campaign_id'],
                     d['contact_id'], d['email_address'], d['status'],
                     jtext(d['fields'])) +
                    tuple(int(d['engagement'][f]) for f in flags))
    con.execute('CREATE TABLE email_activities (event_id, provider, '
                'account, campaign_id, contact_id, contact_email, '
                'event_type, activity_timestamp)')
    for d in cl.find(db, 'email_activities'):
        con.execute('INSERT INTO email_activities VALUES (?,?,?,?,?,?,?,?)',
                    (d['event_id'], d['provider'], d['account'],
                     d['campaign_id'], d['contact_id'], d['contact_email'],
                     d['event_type'], iso(d['activity_timestamp'])))
    con.execute('CREATE TABLE contacts (provider, account, contact_id, '
                'email, status, fields, tags, lists, created_at, '
                'updated_at)')
    for d in cl.find(db, 'contacts'):
        con.execute('INSERT INTO contacts VALUES (?,?,?,?,?,?,?,?,?,?)',
                    (d['provider'], d['account'], d['contact_id'],
                     d['email'], d['status'], jtext(d['fields']),
                     jtext(d['tags']), jtext(d['lists']),
                     iso(d['created_at']), iso(d['updated_at'])))
    con.execute('CREATE TABLE lists (provider, account, list_id, name, '
                'fields, subscribed, unsubscribed, pending)')
    for d in cl.find(db, 'lists'):
        con.execute('INSERT INTO lists VALUES (?,?,?,?,?,?,?,?)',
                    (d['provider'], d['account'], d['list_id'], d['name'],
                     jtext(d['fields']), d['subscribed'], d['unsubscribed'],
                     d['pending']))
    con.commit()
    con.close()
    return path


def truth_for_mongo(truth):
    """The truth with bounces summed into hard (see to_sqlite)."""
    t = json.loads(json.dumps(truth))
    for c in t['campaigns']:
        s = c.get('summary')
        if s:
            b = s['bounced']
            b['hard'], b['soft'] = b['hard'] + b['soft'], 0
    return t
