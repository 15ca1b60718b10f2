"""PostgreSQL store: a sync into a throwaway cluster equals the truth, re-runs
insert nothing, a killed load resumes, events land in their day's partition,
expired partitions are dropped, a dead server is one clear line (exit 5),
hostile text round-trips, both event write paths de-duplicate, and CSV
exports equal the SQLite store's."""

import datetime
import glob
import os
import signal
import subprocess
import time

import lib
import pgutil
from lib import check, fail

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def setup(t, **sim_opts):
    sim = t.sim(**sim_opts)
    t.write_env(sim)
    db = pgutil.new_db(t)
    return sim, db, pgutil.cluster()


def no_password(t, *results):
    for r in results:
        for text in (r.out, r.err):
            check(pgutil.PASSWORD not in text,
                  'the database password appears in the output of %s' %
                  ' '.join(r.argv[:1] + r.argv[2:]))


def pg_dump(t, db, name='pg.db'):
    return pgutil.dump_to_sqlite(db, t.path(name))


def assert_pg_truth(t, db, truth, what, **kw):
    lib.assert_equals_truth(pg_dump(t, db), truth, what=what, **kw)


def test_pg_sync_equals_truth(t):
    """A sync into PostgreSQL equals the truth; stats and state read it;
    the views answer; a second run changes no row."""
    sim, db, c = setup(t)
    url = c.url(db)
    truth = sim.truth()
    r1 = t.espsync('--store', url, 'sync', expect=0)
    assert_pg_truth(t, db, truth, 'postgresql store')
    before = lib.dump(pg_dump(t, db, 'before.db'))
    r2 = t.espsync('--store', url, 'sync', '--json', expect=0)
    s = r2.summary()
    ins = lib.find_number(s, ('rows_inserted',))
    upd = lib.find_number(s, ('rows_updated',))
    check(ins == 0 and upd == 0, 're-run wrote rows: inserted %s, updated '
          '%s' % (ins, upd))
    after = lib.dump(pg_dump(t, db, 'after.db'))
    check(before == after, 're-run changed the store',
          lib.diff_dumps(before, after))
    r3 = t.espsync('--store', url, 'stats', expect=0)
    r4 = t.espsync('--store', url, 'state', 'show', expect=0)
    no_password(t, r1, r2, r3, r4)
    n_events = int(c.scalar(db, 'SELECT count(*) FROM email_activities'))
    shown = 0
    for ln in r3.out.splitlines():
        k, _, v = ln.strip().partition(':')
        if k in lib.EVENT_TYPES and v.strip().replace(',', '').isdigit():
            shown += int(v.strip().replace(',', ''))
    check(shown == n_events, 'stats shows %d events, the table has %d: %r'
          % (shown, n_events, r3.out[:300]))
    # views
    v = int(c.scalar(db, 'SELECT coalesce(sum(events), 0) FROM '
                     'daily_activity'))
    check(v == n_events, 'daily_activity sums to %d events, table has %d'
          % (v, n_events))
    camps = int(c.scalar(db, 'SELECT count(*) FROM campaigns'))
    ce = int(c.scalar(db, 'SELECT count(*) FROM campaign_engagement'))
    check(ce == camps, 'campaign_engagement has %d rows for %d campaigns'
          % (ce, camps))
    rate = c.scalar(db, 'SELECT max(open_rate) FROM campaign_engagement')
    check(rate and 0 < float(rate) <= 1, 'open_rate looks wrong: %r' % rate)
    version = c.scalar(db, "SELECT value FROM meta WHERE key = "
                       "'schema_version'")
    check(version == '3', 'meta.schema_version is %r' % version)
    status = c.scalar(db, 'SELECT status FROM sync_runs ORDER BY run_id '
                      'DESC LIMIT 1')
    check(status == 'complete', 'last run recorded as %r' % status)


def test_pg_partitions(t):
    """Every event is in the partition of its activity_date (one per UTC
    day), the default partition stays empty, the primary key includes the
    date and the (contact_email, campaign_id, event_type) index exists."""
    sim, db, c = setup(t)
    t.espsync('--store', c.url(db), 'sync', expect=0)
    wrong = c.psql(db, "SELECT tableoid::regclass::text, activity_date "
                   "FROM email_activities WHERE tableoid::regclass::text <> "
                   "'email_activities_p' || to_char(activity_date, "
                   "'YYYYMMDD') LIMIT 3")
    check(not wrong, 'events in the wrong partition: %s' % wrong)
    days = int(c.scalar(db, 'SELECT count(DISTINCT activity_date) FROM '
                        'email_activities'))
    parts = int(c.scalar(db, "SELECT count(*) FROM pg_inherits WHERE "
                         "inhparent = 'email_activities'::regclass"))
    check(parts == days + 1, '%d partitions for %d days (+ default)' %
          (parts, days))
    pk = c.scalar(db, "SELECT pg_get_indexdef(indexrelid) FROM pg_index "
                  "WHERE indrelid = 'email_activities'::regclass AND "
                  "indisprimary")
    check(pk and '(event_id, activity_date)' in pk, 'primary key: %r' % pk)
    idx = c.psql(db, "SELECT indexdef FROM pg_indexes WHERE tablename = "
                 "'email_activities'")
    check(any('(contact_email, campaign_id, event_type)' in i for i in idx),
          'no (contact_email, campaign_id, event_type) index: %s' % idx)
    strat = c.scalar(db, "SELECT partstrat FROM pg_partitioned_table WHERE "
                     "partrelid = 'email_activities'::regclass")
    check(strat == 'r', 'email_activities is not range partitioned')


def test_pg_killed_load_resumes(t):
    """SIGKILL in the middle of a sync into PostgreSQL, then a normal run:
    the store equals the truth and holds no duplicate event."""
    sim, db, c = setup(t, latency_ms=150, campaigns=10)
    url = c.url(db)
    truth = sim.truth()
    sim.reset_stats()
    p = subprocess.Popen([lib.ESPSYNC, '--store', url, 'sync'], cwd=t.scratch,
                         env=t.base_env(), stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120 * lib.TIMEOUT_SCALE
        while time.monotonic() < deadline and p.poll() is None:
            if lib.requests_of(sim.stats()) >= 40:
                break
            time.sleep(0.05)
        killed = p.poll() is None
        if killed:
            p.send_signal(signal.SIGKILL)
        out, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    check(killed, 'the sync finished before 40 requests: cannot kill it')
    check(pgutil.PASSWORD.encode() not in out + err,
          'the killed run printed the password')
    status = c.scalar(db, 'SELECT status FROM sync_runs ORDER BY run_id '
                      'DESC LIMIT 1')
    check(status == 'running', 'killed run recorded as %r' % status)
    t.espsync('--store', url, 'sync', expect=0)
    assert_pg_truth(t, db, truth, 'postgresql store after kill + resume')


def test_pg_retention_drops_old_partitions(t):
    """Partitions entirely older than retention_days are dropped by a sync;
    newer ones stay; events older than the period are not loaded again."""
    sim, db, c = setup(t)
    truth = sim.truth()
    t.espsync('--store', c.url(db, extra='?retention_days=0'), 'sync',
              expect=0)
    days = sorted(set(r for r in c.psql(
        db, "SELECT DISTINCT to_char(activity_date, 'YYYY-MM-DD') FROM "
        "email_activities")))
    check(len(days) >= 4, 'too few event days to test retention: %s' % days)
    today = datetime.datetime.now(datetime.timezone.utc).date()
    cut = datetime.date.fromisoformat(days[len(days) // 2])
    keep = (today - cut).days       # first kept day = today - keep = cut
    url = c.url(db, extra='?retention_days=%d' % keep)
    r = t.espsync('--store', url, 'sync', expect=0)
    no_password(t, r)
    parts = c.psql(db, "SELECT c.relname FROM pg_inherits i JOIN pg_class "
                   "c ON c.oid = i.inhrelid WHERE i.inhparent = "
                   "'email_activities'::regclass ORDER BY 1")
    old = [p for p in parts if p.startswith('email_activities_p') and
           p[-8:] < cut.strftime('%Y%m%d')]
    check(not old, 'expired partitions left: %s' % old[:3])
    kept = [p for p in parts if p.startswith('email_activities_p')]
    check(kept and min(kept)[-8:] == cut.strftime('%Y%m%d'),
          'oldest kept partition %s, expected the one of %s' %
          (min(kept) if kept else None, cut))
    stored = int(c.scalar(db, 'SELECT count(*) FROM email_activities'))
    expect = len([e for e in lib.truth_events(truth) if e[3][:10] >=
                  cut.isoformat()])
    check(stored == expect, '%d events stored, %d are inside the retention '
          'period' % (stored, expect))
    # a re-run does not bring expired events back
    t.espsync('--store', url, 'sync', expect=0)
    again = int(c.scalar(db, 'SELECT count(*) FROM email_activities'))
    check(again == stored, 're-run changed events %d -> %d' %
          (stored, again))


def test_pg_retention_days_option(t):
    """ESPSYNC_RETENTION_DAYS (environment, .env) and --retention-days
    reach the store; a retention_days=N in the store URL wins over them."""
    sim, db, c = setup(t)
    truth = sim.truth()
    everything = len(lib.truth_events(truth))
    # the URL's retention_days=0 (keep all) wins over the environment's 1
    t.espsync('--store', c.url(db, extra='?retention_days=0'), 'sync',
              env={'ESPSYNC_RETENTION_DAYS': '1'}, expect=0)
    n = int(c.scalar(db, 'SELECT count(*) FROM email_activities'))
    check(n == everything, '%d of %d events stored with retention_days=0 '
          'in the URL' % (n, everything))
    days = sorted(set(c.psql(db, "SELECT DISTINCT to_char(activity_date, "
                             "'YYYY-MM-DD') FROM email_activities")))
    check(len(days) >= 4, 'too few event days to test retention: %s' % days)
    today = datetime.datetime.now(datetime.timezone.utc).date()
    cut = datetime.date.fromisoformat(days[len(days) // 2])
    keep = (today - cut).days
    expect = len([e for e in lib.truth_events(truth)
                  if e[3][:10] >= cut.isoformat()])
    # a longer period from .env drops nothing; the environment wins over it
    with open(t.path('.env'), 'a') as f:
        f.write('ESPSYNC_RETENTION_DAYS=%d\n' % (keep + 1000))
    t.espsync('--store', c.url(db), 'sync', expect=0)
    n = int(c.scalar(db, 'SELECT count(*) FROM email_activities'))
    check(n == everything, '.env ESPSYNC_RETENTION_DAYS=%d dropped events: '
          '%d of %d left' % (keep + 1000, n, everything))
    r = t.espsync('--store', c.url(db), 'sync',
                  env={'ESPSYNC_RETENTION_DAYS': str(keep)}, expect=0)
    no_password(t, r)
    n = int(c.scalar(db, 'SELECT count(*) FROM email_activities'))
    check(n == expect, 'ESPSYNC_RETENTION_DAYS=%d left %d events, %d are '
          'inside the period' % (keep, n, expect))
    oldest = c.scalar(db, "SELECT min(c.relname) FROM pg_inherits i JOIN "
                      "pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = "
                      "'email_activities'::regclass AND c.relname LIKE "
                      "'email_activities_p%'")
    check(oldest and oldest[-8:] == cut.strftime('%Y%m%d'),
          'oldest partition %s, expected the one of %s' % (oldest, cut))
    # the flag, one day shorter, drops one more day
    t.espsync('--store', c.url(db), 'sync', '--retention-days',
              str(keep - 1), expect=0)
    oldest = c.scalar(db, "SELECT min(c.relname) FROM pg_inherits i JOIN "
                      "pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = "
                      "'email_activities'::regclass AND c.relname LIKE "
                      "'email_activities_p%'")
    check(oldest and oldest[-8:] > cut.strftime('%Y%m%d'),
          '--retention-days %d left partition %s' % (keep - 1, oldest))
    r = t.espsync('--store', c.url(db), 'sync', '--retention-days', 'x',
                  expect=2)
    check('ESPSYNC_RETENTION_DAYS' in r.err or 'retention-days' in r.err,
          'a bad --retention-days is not named: %r' % r.err[-300:])


def test_pg_old_account_default_retention(t):
    """An account whose events are all older than the default 730 days:
    the sync succeeds, loads no event and creates no daily partition."""
    sim, db, c = setup(t, now='2022-03-01T12:00:00Z')
    t.espsync('--store', c.url(db), 'sync', expect=0)
    n = int(c.scalar(db, 'SELECT count(*) FROM email_activities'))
    parts = int(c.scalar(db, "SELECT count(*) FROM pg_inherits WHERE "
                         "inhparent = 'email_activities'::regclass"))
    check(n == 0 and parts == 1, '%d events, %d partitions after syncing '
          'data older than 730 days' % (n, parts))
    camps = int(c.scalar(db, 'SELECT count(*) FROM campaigns'))
    check(camps > 0, 'campaigns were not stored')


def test_pg_server_down(t):
    """No server at the URL, or a wrong password: exit 5, one line on
    stderr naming the store without its password, no run recorded."""
    sim = t.sim()
    t.write_env(sim)
    port = pgutil.free_port()
    url = 'postgresql://espsync:%s@127.0.0.1:%d/nothere' % (
        pgutil.PASSWORD, port)
    r = t.espsync('--store', url, 'sync', expect=5)
    lines = r.err_lines()
    check(len(lines) == 1, 'expected one stderr line, got %d: %s' %
          (len(lines), lines[:4]))
    check('127.0.0.1' in lines[0] and '***' in lines[0],
          'the error does not name the redacted store: %r' % lines[0])
    no_password(t, r)
    check(lib.requests_of(sim.stats()) == 0,
          'espsync called the API although the store is down')
    # wrong password on a live server
    db = pgutil.new_db(t)
    c = pgutil.cluster()
    r = t.espsync('--store', c.url(db, password='wrong-SECRET-pw'), 'sync',
                  expect=5)
    check(len(r.err_lines()) == 1, 'auth failure: %d stderr lines: %s' %
          (len(r.err_lines()), r.err_lines()[:3]))
    check('wrong-SECRET-pw' not in r.out + r.err,
          'the wrong password was printed')
    n = c.scalar(db, "SELECT count(*) FROM pg_tables WHERE tablename = "
                 "'sync_runs'")
    check(n == '0', 'a schema was created without a login')
    # the JSON form is one object too
    r = t.espsync('--store', url, 'sync', '--json', expect=5)
    check(lib.find_number(r.summary(), ('exit_code',)) == 5,
          '--json summary does not say exit 5')
    no_password(t, r)


def test_pg_env_connection(t):
    """A bare postgresql:// takes host, port, user, password and database
    from the libpq environment (PGHOST, ...); the password is never
    printed."""
    sim, db, c = setup(t)
    env = {'PGHOST': '127.0.0.1', 'PGPORT': str(c.port),
           'PGUSER': 'postgres', 'PGPASSWORD': pgutil.PASSWORD,
           'PGDATABASE': db}
    r = t.espsync('--store', 'postgresql://', 'sync', env=env, expect=0)
    no_password(t, r)
    assert_pg_truth(t, db, sim.truth(), 'store reached through PG* vars')
    r = t.espsync('stats', env=dict(env, ESPSYNC_STORE='postgres://'),
                  expect=0)
    no_password(t, r)
    r = t.espsync('check', env=dict(env, ESPSYNC_STORE='postgresql://'),
                  expect=None)
    no_password(t, r)
    check('has no host' not in r.err, 'check rejects postgresql://: %r'
          % r.err[-300:])
    # a host in the URL still works, PG* filling in the rest
    r = t.espsync('--store', 'postgresql://127.0.0.1', 'stats', env=env,
                  expect=0)
    no_password(t, r)


def test_pg_hostile_names_round_trip(t):
    """--hostile-names (quotes, newlines, tabs, control characters, formula
    prefixes, 300-byte names) round-trip unchanged through PostgreSQL."""
    sim, db, c = setup(t, hostile_names=True)
    t.espsync('--store', c.url(db), 'sync', expect=0)
    assert_pg_truth(t, db, sim.truth(), 'postgresql store (hostile names)')


def build_driver(t):
    """Compiles bench/pg_load.c against the library next to ESPSYNC."""
    lib_a = os.path.join(os.path.dirname(lib.ESPSYNC), 'libespsync.a')
    out = t.path('pg_load')
    pkgs = subprocess.run(['make', '-s', '--no-print-directory', '-C', REPO,
                           'print-pkgs'],
                          capture_output=True).stdout.decode().split()
    flags = subprocess.run(['pkg-config', '--cflags', '--libs'] + pkgs,
                           capture_output=True).stdout.decode().split()
    san = []
    if 'build-san' in lib_a:
        san = ['-fsanitize=address,undefined', '-fno-sanitize-recover=all']
    p = subprocess.run(['cc', '-std=c11', '-D_DEFAULT_SOURCE',
                        '-D_POSIX_C_SOURCE=200809L', '-O2', '-I',
                        os.path.join(REPO, 'src')] + san +
                       ['-o', out, os.path.join(REPO, 'bench', 'pg_load.c'),
                        lib_a] + flags + ['-lm'], capture_output=True)
    if p.returncode != 0:
        fail('cannot build bench/pg_load.c: %s' %
             p.stderr.decode('utf-8', 'replace')[-400:])
    return out


def test_pg_sql_hostile_values(t):
    """A campaign named `'); DROP TABLE campaigns; --` with backslashes,
    quotes, tabs and binary junk in its fields goes through write_batch and
    back through the store reads unchanged (bench/pg_load.c --hostile)."""
    db = pgutil.new_db(t)
    c = pgutil.cluster()
    drv = build_driver(t)
    p = subprocess.run([drv, '--hostile', c.url(db)], capture_output=True,
                       timeout=120 * lib.TIMEOUT_SCALE)
    out = p.stdout.decode('utf-8', 'replace')
    err = p.stderr.decode('utf-8', 'replace')
    check(p.returncode == 0, 'hostile round trip failed (exit %d): %s' % (
        p.returncode, (err or out).strip()[-400:]))
    n = c.scalar(db, 'SELECT count(*) FROM campaigns')
    check(n == '1', 'campaigns holds %s rows' % n)
    name = c.scalar(db, "SELECT name FROM campaigns")
    check(name is not None and 'DROP TABLE campaigns' in name,
          'stored name: %r' % name)
    r = t.espsync('--store', c.url(db), 'export', 'csv', '--export-dir',
                  'hx', expect=0)
    files = glob.glob(t.path('hx', '*.csv'))
    check(len(files) == 1, 'export wrote %s' % files)
    with open(files[0], 'rb') as f:
        data = f.read().decode('utf-8')
    check("'); DROP TABLE campaigns; -- \\x \\\\ " in data,
          'export lost the hostile name or backslashes: %r' % data[:300])
    no_password(t, r)


def test_pg_dedupe_paths(t):
    """Events that are all new go by COPY straight into email_activities,
    others through staging and INSERT ... ON CONFLICT: duplicates inside a
    batch, a batch stored twice, stored and new events mixed (after either
    path), and a changed event all count and store right (bench/pg_load.c
    --dedupe)."""
    db = pgutil.new_db(t)
    c = pgutil.cluster()
    drv = build_driver(t)
    p = subprocess.run([drv, '--dedupe', c.url(db)], capture_output=True,
                       timeout=120 * lib.TIMEOUT_SCALE)
    err = p.stderr.decode('utf-8', 'replace')
    check(p.returncode == 0, 'de-duplication checks failed (exit %d): %s' %
          (p.returncode, err.strip()[-400:]))
    dup = c.scalar(db, 'SELECT count(*) - count(DISTINCT event_id) FROM '
                   'email_activities')
    check(dup == '0', '%s duplicate event ids' % dup)
    wrong = c.psql(db, "SELECT tableoid::regclass::text FROM "
                   "email_activities WHERE tableoid::regclass::text <> "
                   "'email_activities_p' || to_char(activity_date, "
                   "'YYYYMMDD') LIMIT 3")
    check(not wrong, 'events in the wrong partition: %s' % wrong)


def test_pg_export_equals_sqlite(t):
    """export csv from PostgreSQL writes the same files, byte for byte, as
    from SQLite for the same account (hostile names included)."""
    sim, db, c = setup(t, hostile_names=True)
    t.espsync('--store', c.url(db), 'sync', expect=0)
    t.espsync('--store', 'sqlite:data/lite.db', 'sync', expect=0)
    t.espsync('--store', c.url(db), 'export', 'csv', '--export-dir', 'pgx',
              expect=0)
    t.espsync('--store', 'sqlite:data/lite.db', 'export', 'csv',
              '--export-dir', 'sqx', expect=0)

    def read_all(d):
        out = {}
        for f in sorted(glob.glob(os.path.join(t.path(d), '*'))):
            with open(f, 'rb') as fh:
                out[os.path.basename(f)] = fh.read()
        return out
    a, b = read_all('pgx'), read_all('sqx')
    check(a.keys() == b.keys(), 'file names differ: postgresql %s, sqlite '
          '%s' % (sorted(a)[:4], sorted(b)[:4]))
    check(len(a) > 0, 'no export files')
    diff = [k for k in a if a[k] != b[k]]
    check(not diff, '%d files differ, e.g. %s' % (len(diff),
                                                  diff[:1]))
