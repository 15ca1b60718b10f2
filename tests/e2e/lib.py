"""Shared helpers for the espsync end-to-end tests (standard library only).

A test is a function test_NAME(t) in a tests/e2e/test_*.py module; t is a
Context holding the test's scratch directory. The helpers start the simulator
(build/espsync-sim) on a random loopback port, run the real espsync binary in
the scratch directory, dump the SQLite store and compare it with the
simulator's ground truth (GET /_sim/truth).

Every output of every espsync command and every file left in a scratch
directory (except .env files) is scanned for the API keys the tests use; the
suite's last test fails when one was found anywhere.
"""

import datetime
import json
import os
import re
import signal
import sqlite3
import subprocess
import threading
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
ESPSYNC = os.environ.get('ESPSYNC') or os.path.join(REPO, 'build', 'espsync')
SIM = os.environ.get('ESPSYNC_SIM') or os.path.join(REPO, 'build',
                                                     'espsync-sim')
# Slower builds (sanitizers, valgrind) may scale every timeout.
TIMEOUT_SCALE = float(os.environ.get('E2E_TIMEOUT_SCALE', '1') or '1')
# Client-side request ceiling for tests that do not measure pacing; the
# simulator's own limits are raised as well. Empty: keep espsync's default.
CLIENT_RATE = os.environ.get('E2E_CLIENT_RATE', '1000')

# Distinctive keys: none of them may appear in any output or file.
KEY = 'sim-eo-key-SECRET-7f3a9'
LEGACY_KEY = 'sim-eo-legacy-SECRET-4c1d2'
WRONG_KEY = 'sim-eo-wrong-SECRET-9e8b7'
AC_KEY = 'sim-ac-key-SECRET-3b6e1'
AC_WRONG_KEY = 'sim-ac-wrong-SECRET-8d2f4'
# Mailchimp keys end in their data center; the stem alone is secret too.
MC_KEY_STEM = 'simmcSECRET5a7c9e01'
MC_KEY = MC_KEY_STEM + '-us6'
MC_WRONG_KEY = 'simmcWRONGSECRET77-us6'
SECRETS = (KEY, LEGACY_KEY, WRONG_KEY, AC_KEY, AC_WRONG_KEY, MC_KEY_STEM,
           MC_WRONG_KEY)

PROVIDER = 'emailoctopus'
DATA_TABLES = ('campaigns', 'campaign_links', 'participants',
               'email_activities', 'contacts', 'lists')
FLAGS = ('opened', 'clicked', 'bounced', 'complained', 'unsubscribed')
EVENT_TYPES = ('sent', 'open', 'click', 'bounce', 'complaint', 'unsubscribe')
STAT_COLS = ('sent', 'opened_unique', 'opened_total', 'clicked_unique',
             'clicked_total', 'bounced_hard', 'bounced_soft', 'complained',
             'unsubscribed')

# Small account, raised simulator limits: the default for every test.
SIM_DEFAULTS = {
    'seed': 7,
    'campaigns': 8,
    'lists': 2,
    'contacts': 60,
    'eo_key': KEY,
    'eo_rate': 1000,
    'eo_burst': 1000,
}


class Failure(AssertionError):
    """A test assertion failed; args[0] is the one-line reason."""

    def __init__(self, reason, details=None):
        super().__init__(reason)
        self.reason = reason
        self.details = details or []


def fail(reason, details=None):
    raise Failure(reason, details)


def check(cond, reason, details=None):
    if not cond:
        fail(reason, details)


def mask(text):
    """Replaces the test keys in text before it is printed."""
    if not isinstance(text, str):
        text = str(text)
    for s in SECRETS:
        text = text.replace(s, '<SECRET>')
    return text


# ---------------------------------------------------------------- leak log

class LeakLog:
    """Where a test key was seen; shared by all tests (thread-safe)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.hits = []
        self.outputs = 0
        self.files = 0

    def scan_text(self, where, data):
        if isinstance(data, str):
            data = data.encode('utf-8', 'surrogateescape')
        found = [s for s in SECRETS if s.encode() in data]
        with self.lock:
            self.outputs += 1
            for s in found:
                self.hits.append('%s contains key %s...' % (where, s[:14]))

    def scan_tree(self, test, root, skip_dirs=('.sim',)):
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if d not in skip_dirs]
            for fn in filenames:
                if fn == '.env' or fn.endswith('.env'):
                    continue
                path = os.path.join(dirpath, fn)
                if os.path.islink(path) or not os.path.isfile(path):
                    continue
                try:
                    with open(path, 'rb') as f:
                        data = f.read()
                except OSError:
                    continue
                rel = os.path.relpath(path, root)
                found = [s for s in SECRETS if s.encode() in data]
                with self.lock:
                    self.files += 1
                    for s in found:
                        self.hits.append('%s: file %s contains key %s...' %
                                         (test, rel, s[:14]))


LEAKS = LeakLog()


# ---------------------------------------------------------------- time

def utc(ts):
    """'2026-01-10T08:00:00+00:00' (any offset, or Z) -> '...Z' in UTC."""
    if ts is None or ts == '':
        return None
    s = ts.strip()
    if s.endswith('Z') or s.endswith('z'):
        s = s[:-1] + '+00:00'
    try:
        d = datetime.datetime.fromisoformat(s)
    except ValueError:
        return 'UNPARSEABLE(%s)' % ts
    if d.tzinfo is None:
        d = d.replace(tzinfo=datetime.timezone.utc)
    d = d.astimezone(datetime.timezone.utc)
    return d.strftime('%Y-%m-%dT%H:%M:%SZ')


# ---------------------------------------------------------------- simulator

class Sim:
    """One espsync-sim process on 127.0.0.1 with a random port."""

    def __init__(self, workdir, opts):
        self.workdir = workdir
        self.opts = opts
        self.proc = None
        self.port = None
        self.log_path = os.path.join(workdir, 'sim.log')
        self.port_file = os.path.join(workdir, 'port')

    def argv(self):
        args = [SIM, '--port', '0', '--port-file', self.port_file]
        for k, v in self.opts.items():
            if v is None or v is False:
                continue
            flag = '--' + k.replace('_', '-')
            if v is True:
                args.append(flag)
            else:
                args += [flag, str(v)]
        return args

    def start(self):
        os.makedirs(self.workdir, exist_ok=True)
        if not os.access(SIM, os.X_OK):
            fail('simulator %s is not built' % SIM)
        log = open(self.log_path, 'wb')
        try:
            self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=log)
        finally:
            log.close()
        deadline = time.monotonic() + 20 * TIMEOUT_SCALE
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                fail('simulator exited with %s at start: %s' %
                     (self.proc.returncode, self.log_tail()))
            try:
                with open(self.port_file) as f:
                    txt = f.read().strip()
                if txt:
                    self.port = int(txt.split()[0])
                    break
            except (OSError, ValueError):
                pass
            time.sleep(0.05)
        else:
            fail('simulator wrote no port file within 20s')
        return self

    def log_tail(self, n=3):
        try:
            with open(self.log_path, 'rb') as f:
                lines = f.read().decode('utf-8', 'replace').splitlines()
            return ' | '.join(lines[-n:])
        except OSError:
            return ''

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        except ProcessLookupError:
            pass

    @property
    def url(self):
        return 'http://127.0.0.1:%d' % self.port

    def _req(self, method, path, params=None):
        url = self.url + path
        if params:
            url += '?' + '&'.join('%s=%s' % (k, v) for k, v in params.items())
        req = urllib.request.Request(url, method=method,
                                     data=b'' if method == 'POST' else None)
        try:
            with urllib.request.urlopen(req, timeout=30 * TIMEOUT_SCALE) as r:
                body = r.read()
        except urllib.error.HTTPError as e:
            fail('simulator %s %s: HTTP %d %s' % (method, path, e.code,
                                                  e.read()[:200]))
        except (urllib.error.URLError, OSError) as e:
            fail('simulator %s %s: %s' % (method, path, e))
        try:
            return json.loads(body) if body.strip() else {}
        except ValueError:
            fail('simulator %s %s: not JSON: %r' % (method, path, body[:200]))

    def truth(self):
        return self._req('GET', '/_sim/truth')

    def stats(self):
        return self._req('GET', '/_sim/stats')

    def reset_stats(self):
        return self._req('POST', '/_sim/reset-stats')

    def advance(self, seconds):
        return self._req('POST', '/_sim/advance', {'seconds': int(seconds)})

    def faults(self, **kw):
        return self._req('POST', '/_sim/faults', kw)


# ---------------------------------------------------------------- espsync

class Result:
    def __init__(self, argv, rc, out, err, elapsed):
        self.argv = argv
        self.rc = rc
        self.out = out
        self.err = err
        self.elapsed = elapsed

    def summary(self):
        """The --json summary object on stdout (must be exactly one)."""
        txt = self.out.strip()
        try:
            obj = json.loads(txt)
        except ValueError:
            fail('--json stdout is not one JSON object: %r' %
                 mask(txt[:200]))
        check(isinstance(obj, dict), '--json stdout is not a JSON object')
        return obj

    def err_lines(self):
        return [ln for ln in self.err.splitlines() if ln.strip()]

    def describe(self):
        tail = self.err_lines()[-1:] or self.out.strip().splitlines()[-1:]
        return 'espsync %s -> exit %s%s' % (
            ' '.join(self.argv), self.rc,
            (': ' + tail[0][:300]) if tail else '')


def find_number(obj, names):
    """First integer value under any of names anywhere in a JSON object."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k in names and isinstance(v, int) and not isinstance(v, bool):
                return v
        for v in obj.values():
            n = find_number(v, names)
            if n is not None:
                return n
    elif isinstance(obj, list):
        for v in obj:
            n = find_number(v, names)
            if n is not None:
                return n
    return None


class Context:
    """One test: a scratch directory, its simulators, its espsync runs."""

    def __init__(self, name, scratch):
        self.name = name
        self.scratch = scratch
        self.sims = []
        self.notes = []
        self.runs = 0

    # -- simulator
    def sim(self, **opts):
        o = dict(SIM_DEFAULTS)
        o['quiet'] = True
        o.update(opts)
        s = Sim(os.path.join(self.scratch, '.sim', str(len(self.sims))), o)
        self.sims.append(s)
        return s.start()

    def stop_all(self):
        for s in self.sims:
            s.stop()

    # -- configuration
    def path(self, *parts):
        return os.path.join(self.scratch, *parts)

    def write_env(self, sim, key=KEY, name='.env', extra=''):
        p = self.path(name)
        with open(p, 'w') as f:
            f.write('# written by tests/e2e\n')
            f.write('EMAILOCTOPUS_API_URL=%s\n' % sim.url)
            if key is not None:
                f.write('EMAILOCTOPUS_API_KEY=%s\n' % key)
            f.write(extra)
        os.chmod(p, 0o600)
        return p

    def base_env(self):
        env = {}
        for k in ('PATH', 'ASAN_OPTIONS', 'UBSAN_OPTIONS', 'LSAN_OPTIONS',
                  'LD_LIBRARY_PATH'):
            if k in os.environ:
                env[k] = os.environ[k]
        env.setdefault('PATH', '/usr/bin:/bin')
        env['HOME'] = self.scratch
        env['LANG'] = 'C.UTF-8'
        env['TZ'] = 'UTC'
        # libmongoc initialises itself when espsync loads (any store) and
        # creates /dev/shm/mongoc-PID with O_EXCL; a SIGKILLed process
        # leaves its file, and a later process given the same pid prints
        # "WARNING: mongoc: Falling back to malloc for counters." on
        # stderr, which the tests read. Without shared memory no file is
        # made or needed.
        env['MONGOC_DISABLE_SHM'] = '1'
        if CLIENT_RATE:
            env['ESPSYNC_RATE_EMAILOCTOPUS'] = CLIENT_RATE
            env['ESPSYNC_RATE_ACTIVECAMPAIGN'] = CLIENT_RATE
        return env

    # -- running espsync
    def espsync(self, *args, env=None, expect=None, timeout=180, cwd=None,
                stdin_data=None):
        argv = [str(a) for a in args]
        e = self.base_env()
        if env:
            for k, v in env.items():
                if v is None:
                    e.pop(k, None)
                else:
                    e[k] = v
        self.runs += 1
        t0 = time.monotonic()
        try:
            p = subprocess.run([ESPSYNC] + argv, cwd=cwd or self.scratch,
                               env=e, input=stdin_data,
                               stdin=None if stdin_data else subprocess.DEVNULL,
                               capture_output=True,
                               timeout=timeout * TIMEOUT_SCALE)
        except subprocess.TimeoutExpired as exc:
            LEAKS.scan_text('%s: stdout of timed-out espsync %s' %
                            (self.name, ' '.join(argv)), exc.stdout or b'')
            LEAKS.scan_text('%s: stderr of timed-out espsync %s' %
                            (self.name, ' '.join(argv)), exc.stderr or b'')
            fail('espsync %s timed out after %ss' %
                 (' '.join(argv), timeout * TIMEOUT_SCALE))
        except OSError as exc:
            fail('cannot run %s: %s' % (ESPSYNC, exc))
        out = p.stdout.decode('utf-8', 'replace')
        err = p.stderr.decode('utf-8', 'replace')
        label = '%s: espsync %s' % (self.name, ' '.join(argv))
        LEAKS.scan_text(label + ' stdout', p.stdout)
        LEAKS.scan_text(label + ' stderr', p.stderr)
        r = Result(argv, p.returncode, out, err, time.monotonic() - t0)
        with open(self.path('.espsync-runs.log'), 'a') as f:
            f.write('$ espsync %s\n[exit %d, %.1fs]\n--- stdout\n%s\n'
                    '--- stderr\n%s\n' % (' '.join(argv), r.rc, r.elapsed,
                                          out, err))
        if 'AddressSanitizer' in err or 'runtime error:' in err or \
                'LeakSanitizer' in err:
            fail('sanitizer report from %s' % r.describe(),
                 [mask(x) for x in err.splitlines()[:15]])
        if expect is not None and r.rc != expect:
            fail('expected exit %d, got %s' % (expect, r.describe()),
                 [mask(x) for x in r.err_lines()[-8:]])
        return r

    def sync(self, *extra, expect=0, **kw):
        return self.espsync('sync', *extra, expect=expect, **kw)

    def note(self, text):
        self.notes.append(text)

    # -- store
    def db(self, rel='data/espsync.db'):
        return self.path(rel)


# ---------------------------------------------------------------- store

def connect(db_path):
    check(os.path.exists(db_path), 'store %s does not exist' % db_path)
    con = sqlite3.connect('file:%s?mode=ro' % db_path, uri=True, timeout=10)
    con.row_factory = sqlite3.Row
    return con


def tables(con):
    return [r[0] for r in con.execute(
        "SELECT name FROM sqlite_master WHERE type='table' "
        "AND name NOT LIKE 'sqlite_%' ORDER BY name")]


def dump(db_path, exclude=('sync_state', 'sync_runs')):
    """{table: sorted list of row tuples} for every table but exclude."""
    con = connect(db_path)
    try:
        out = {}
        for t in tables(con):
            if t in exclude:
                continue
            rows = [tuple(r) for r in con.execute('SELECT * FROM "%s"' % t)]
            out[t] = sorted(rows, key=repr)
        return out
    finally:
        con.close()


def diff_dumps(a, b, limit=10):
    lines = []
    for t in sorted(set(a) | set(b)):
        ra, rb = a.get(t), b.get(t)
        if ra == rb:
            continue
        if ra is None or rb is None:
            lines.append('table %s %s' % (t, 'appeared' if ra is None
                                          else 'vanished'))
            continue
        sa, sb = set(ra), set(rb)
        lines.append('table %s: %d rows -> %d rows, %d changed/removed, %d '
                     'new/changed' % (t, len(ra), len(rb), len(sa - sb),
                                      len(sb - sa)))
        for r in sorted(sa - sb, key=repr)[:3]:
            lines.append('  - %s' % (r,))
        for r in sorted(sb - sa, key=repr)[:3]:
            lines.append('  + %s' % (r,))
        if len(lines) > limit:
            break
    return lines


def count_rows(db_path, table):
    if not os.path.exists(db_path):
        return 0
    con = connect(db_path)
    try:
        if table not in tables(con):
            return 0
        return con.execute('SELECT count(*) FROM "%s"' % table).fetchone()[0]
    finally:
        con.close()


def data_row_counts(db_path):
    return {t: count_rows(db_path, t) for t in DATA_TABLES}


def jload(text, default):
    if text is None or text == '':
        return default
    if isinstance(text, (bytes, bytearray)):
        text = text.decode()
    try:
        return json.loads(text)
    except ValueError:
        return 'INVALID JSON(%s)' % text


def norm_fields(v):
    """Field values compare as JSON values; integers as numbers."""
    if v is None:
        return {}
    return v


# ---------------------------------------------------------------- truth

def truth_events(truth, campaign=None):
    """Set of (campaign, contact, type, utc) for events with a time."""
    out = set()
    for e in truth.get('events', []):
        if campaign and e['campaign_id'] != campaign:
            continue
        if not e.get('occurred_at'):
            continue
        out.add((e['campaign_id'], e['contact_id'], e['type'],
                 utc(e['occurred_at'])))
    return out


def store_events(con, campaign=None):
    q = ('SELECT campaign_id, contact_id, event_type, activity_timestamp '
         'FROM email_activities WHERE provider = ?')
    args = [PROVIDER]
    if campaign:
        q += ' AND campaign_id = ?'
        args.append(campaign)
    rows = [tuple(r) for r in con.execute(q, args)]
    return rows


def compare_truth(db_path, truth, campaign=None, check_contacts=True):
    """List of differences between the store and the simulator's truth.

    campaign: only that campaign is expected in campaigns, links,
    participants and events (contacts/lists are then not compared)."""
    diffs = []

    def add(msg):
        if len(diffs) < 40:
            diffs.append(msg)

    con = connect(db_path)
    try:
        have = set(tables(con))
        for t in DATA_TABLES:
            if t not in have:
                add('store has no table %s' % t)
        if diffs:
            return diffs

        # campaigns and their statistics
        exp = {}
        for c in truth['campaigns']:
            if campaign and c['id'] != campaign:
                continue
            s = c.get('summary')
            stats = None
            if s:
                stats = (s['sent'], s['opened']['unique'],
                         s['opened']['total'], s['clicked']['unique'],
                         s['clicked']['total'], s['bounced']['hard'],
                         s['bounced']['soft'], s['complained'],
                         s['unsubscribed'])
            exp[c['id']] = {
                'name': c.get('name'), 'subject': c.get('subject'),
                'from_name': c.get('from_name'),
                'from_email': c.get('from_email'),
                'status': (c.get('status') or '').lower(),
                'created_at': utc(c.get('created_at')),
                'sent_at': utc(c.get('sent_at')),
                'to_lists': sorted(c.get('to') or []),
                'stats': stats,
            }
        got = {}
        for r in con.execute('SELECT * FROM campaigns WHERE provider = ?',
                             (PROVIDER,)):
            got[r['campaign_id']] = {
                'name': r['name'], 'subject': r['subject'],
                'from_name': r['from_name'], 'from_email': r['from_email'],
                'status': (r['status'] or '').lower(),
                'created_at': r['created_at'], 'sent_at': r['sent_at'],
                'to_lists': sorted(jload(r['to_lists'], []) or []),
                'stats': tuple(r[k] for k in STAT_COLS),
            }
        for cid in sorted(set(exp) - set(got)):
            add('campaign %s missing from store' % cid)
        for cid in sorted(set(got) - set(exp)):
            add('campaign %s in store but not expected' % cid)
        for cid in sorted(set(exp) & set(got)):
            e, g = exp[cid], got[cid]
            for k in e:
                if k == 'stats':
                    if e[k] is None:
                        if any(v not in (None, 0) for v in g[k]):
                            add('campaign %s: unsent campaign has '
                                'statistics %s' % (cid, g[k]))
                    elif tuple(e[k]) != tuple(g[k]):
                        add('campaign %s statistics %s: store %s, truth %s'
                            % (cid, STAT_COLS, g[k], e[k]))
                elif e[k] != g[k]:
                    add('campaign %s %s: store %r, truth %r' %
                        (cid, k, g[k], e[k]))

        # links
        el = {(ln['campaign_id'], ln['url']):
              (ln['clicked_total'], ln['clicked_unique'])
              for ln in truth.get('links', [])
              if not campaign or ln['campaign_id'] == campaign}
        gl = {(r['campaign_id'], r['url']):
              (r['clicked_total'], r['clicked_unique'])
              for r in con.execute(
                  'SELECT * FROM campaign_links WHERE provider = ?',
                  (PROVIDER,))}
        for k in sorted(set(el) - set(gl)):
            add('link %s missing from store' % (k,))
        for k in sorted(set(gl) - set(el)):
            add('link %s in store but not in truth' % (k,))
        for k in sorted(set(el) & set(gl)):
            if el[k] != gl[k]:
                add('link %s (total, unique): store %s, truth %s' %
                    (k, gl[k], el[k]))

        # participants
        ep = {}
        for p in truth.get('participants', []):
            if campaign and p['campaign_id'] != campaign:
                continue
            ep[(p['campaign_id'], p['contact_id'])] = {
                'email': p.get('email_address'),
                'status': (p.get('status') or '').lower(),
                'fields': norm_fields(p.get('fields')),
                'flags': tuple(1 if p.get(f) else 0 for f in FLAGS),
            }
        gp = {}
        for r in con.execute('SELECT * FROM participants WHERE provider = ?',
                             (PROVIDER,)):
            gp[(r['campaign_id'], r['contact_id'])] = {
                'email': r['email_address'],
                'status': (r['status'] or '').lower(),
                'fields': norm_fields(jload(r['fields'], {})),
                'flags': tuple(r[f] for f in FLAGS),
            }
        missing = sorted(set(ep) - set(gp))
        extra = sorted(set(gp) - set(ep))
        if missing:
            add('%d participants missing from store, e.g. %s' %
                (len(missing), missing[0]))
        if extra:
            add('%d participants in store but not in truth, e.g. %s' %
                (len(extra), extra[0]))
        nbad = {}
        for k in sorted(set(ep) & set(gp)):
            for f in ep[k]:
                if ep[k][f] != gp[k][f]:
                    nbad.setdefault(f, []).append(k)
        for f, keys in sorted(nbad.items()):
            k = keys[0]
            fl = (' (%s)' % ','.join(FLAGS)) if f == 'flags' else ''
            add('%d participants differ in %s%s, e.g. %s: store %r, '
                'truth %r' % (len(keys), f, fl, k, gp[k][f], ep[k][f]))

        # events: a set, and no duplicates in the store
        ee = truth_events(truth, campaign)
        rows = store_events(con)
        if campaign:
            others = [r for r in rows if r[0] != campaign]
            if others:
                add('%d events of other campaigns stored, e.g. %s' %
                    (len(others), others[0]))
            rows = [r for r in rows if r[0] == campaign]
        ge = set(rows)
        if len(rows) != len(ge):
            seen, dup = set(), None
            for r in rows:
                if r in seen:
                    dup = r
                    break
                seen.add(r)
            add('%d duplicate event rows, e.g. %s' % (len(rows) - len(ge),
                                                     dup))
        bad_types = {r[2] for r in ge} - set(EVENT_TYPES)
        if bad_types:
            add('unknown event_type values %s' % sorted(bad_types))
        if ee - ge:
            add('%d of %d events missing from store, e.g. %s' %
                (len(ee - ge), len(ee), sorted(ee - ge)[0]))
        if ge - ee:
            add('%d stored events not in truth, e.g. %s' %
                (len(ge - ee), sorted(ge - ee)[0]))

        if campaign or not check_contacts:
            return diffs

        # contacts (one row per contact id; a contact may be in several
        # lists of the truth)
        ec = {}
        for c in truth.get('contacts', []):
            e = ec.setdefault(c['id'], {
                'email': c.get('email_address'),
                'status': (c.get('status') or '').lower(),
                'fields': norm_fields(c.get('fields')),
                'tags': sorted(c.get('tags') or []),
                'lists': set(),
                'created_at': utc(c.get('created_at')),
                'updated_at': utc(c.get('last_updated_at')),
            })
            if c.get('list_id'):
                e['lists'].add(c['list_id'])
        gc = {}
        for r in con.execute('SELECT * FROM contacts WHERE provider = ?',
                             (PROVIDER,)):
            gc[r['contact_id']] = {
                'email': r['email'],
                'status': (r['status'] or '').lower(),
                'fields': norm_fields(jload(r['fields'], {})),
                'tags': sorted(jload(r['tags'], []) or []),
                'lists': set(jload(r['lists'], []) or []),
                'created_at': r['created_at'],
                'updated_at': r['updated_at'],
            }
        missing = sorted(set(ec) - set(gc))
        extra = sorted(set(gc) - set(ec))
        if missing:
            add('%d of %d contacts missing from store, e.g. %s' %
                (len(missing), len(ec), missing[0]))
        if extra:
            add('%d contacts in store but not in truth, e.g. %s' %
                (len(extra), extra[0]))
        nbad = {}
        for k in sorted(set(ec) & set(gc)):
            for f in ec[k]:
                if ec[k][f] != gc[k][f]:
                    nbad.setdefault(f, []).append(k)
        for f, keys in sorted(nbad.items()):
            k = keys[0]
            add('%d contacts differ in %s, e.g. %s: store %r, truth %r' %
                (len(keys), f, k, gc[k][f], ec[k][f]))

        # lists
        eli = {}
        for li in truth.get('lists', []):
            counts = li.get('counts') or {}
            if isinstance(counts, list):
                counts = counts[0] if counts else {}
            eli[li['id']] = {
                'name': li.get('name'),
                'fields': [f.get('tag') for f in li.get('fields') or []],
                'counts': (counts.get('subscribed'),
                           counts.get('unsubscribed'),
                           counts.get('pending')),
            }
        gli = {}
        for r in con.execute('SELECT * FROM lists WHERE provider = ?',
                             (PROVIDER,)):
            fl = jload(r['fields'], []) or []
            gli[r['list_id']] = {
                'name': r['name'],
                'fields': [f.get('tag') if isinstance(f, dict) else f
                           for f in fl],
                'counts': (r['subscribed'], r['unsubscribed'], r['pending']),
            }
        for k in sorted(set(eli) - set(gli)):
            add('list %s missing from store' % k)
        for k in sorted(set(gli) - set(eli)):
            add('list %s in store but not in truth' % k)
        for k in sorted(set(eli) & set(gli)):
            for f in eli[k]:
                if eli[k][f] != gli[k][f]:
                    add('list %s %s: store %r, truth %r' %
                        (k, f, gli[k][f], eli[k][f]))
        return diffs
    finally:
        con.close()


def assert_equals_truth(db_path, truth, what='store', **kw):
    diffs = compare_truth(db_path, truth, **kw)
    if diffs:
        fail('%s differs from truth: %s' % (what, diffs[0]),
             diffs[1:12])


def assert_no_duplicate_events(db_path):
    con = connect(db_path)
    try:
        rows = store_events(con)
    finally:
        con.close()
    check(len(rows) == len(set(rows)),
          '%d duplicate event rows in email_activities' %
          (len(rows) - len(set(rows))))


def truth_summary(truth):
    sent = [c for c in truth['campaigns'] if c.get('sent_at')]
    return ('%d campaigns (%d sent), %d participants, %d events, %d contacts'
            % (len(truth['campaigns']), len(sent),
               len(truth.get('participants', [])),
               len(truth.get('events', [])),
               len(truth.get('contacts', []))))


def requests_of(stats):
    """Requests a simulator served to API clients (from /_sim/stats)."""
    return int(stats.get('requests', 0))


def status_count(stats, code):
    return int((stats.get('by_status') or {}).get(str(code), 0))


# ---------------------------------------------------------------- csv

SNAKE_RE1 = re.compile(r'([a-z0-9])([A-Z])')
SNAKE_RE2 = re.compile(r'[^a-z0-9]+')


def snake_case(tag):
    s = SNAKE_RE1.sub(r'\1_\2', tag).lower()
    return SNAKE_RE2.sub('_', s).strip('_')


def squash(s):
    return re.sub(r'[^a-z0-9]', '', s.lower())
