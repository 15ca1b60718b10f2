"""BigQuery store against the fake (tests/e2e/bq-fake): a sync equals the
truth, a re-run adds no row and runs no job, a run SIGKILLed before a load,
between a load and its MERGE or while polling either resumes to the truth,
--max-runtime partial runs converge, the events table is partitioned,
clustered and expiring, a 401 mid-run refreshes the token once, 5xx and
rateLimitExceeded are retried, a failing transaction leaves the
checkpoints in place, each credential failure is one line with exit 5 and
no key material, and CSV exports equal the SQLite store's. The views are
compared with PostgreSQL's in test_bq_views.py."""

import filecmp
import json
import os
import re
import signal
import subprocess
import time

import aclib
import bqutil
import lib
import mclib
from lib import check, fail

SCHEMA_VERSION = '3'  # BQ_SCHEMA_VERSION (src/store/bq_internal.h)
FLUSH_300 = {'ESPSYNC_BQ_FLUSH_ROWS': '300'}


# the -v lines of a flush and of a run's end (src/store/bq_write.c)
FLUSH_RE = re.compile(r'bigquery: flush \d+: (\d+) rows, (\d+) events, '
                      r'[0-9.]+ KiB uploaded, (\d+) jobs, (?:activity_date '
                      r'([0-9-]{10})\.\.([0-9-]{10})|no events MERGE)')
RUN_RE = re.compile(r'bigquery: run: (\d+) flushes, (\d+) requests, '
                    r'(\d+) jobs, (\d+) queries, (\d+) bytes uploaded')


def setup(t, **sim_opts):
    sim = t.sim(**sim_opts)
    t.write_env(sim)
    bq = bqutil.start(t)
    return sim, bq


def no_secrets(bq, *results):
    body = bq.private_key.split('-----')[2].strip().splitlines()
    for r in results:
        for text in (r.out, r.err):
            check(not any(line in text for line in body if len(line) > 20),
                  'private key material in the output of %s' % r.argv)
            check('PRIVATE KEY' not in text, 'a PEM header in the output '
                  'of %s' % r.argv)
            check('ya29.' not in text, 'a token in the output')


def one_error_line(r, *want):
    """r failed with exit 5 and one `espsync:` line holding every want."""
    lines = [ln for ln in r.err.splitlines() if ln.startswith('espsync:')]
    check(r.rc == 5, 'exit %d, not 5: %s' % (r.rc, r.err[-300:]))
    check(len(lines) == 1, '%d error lines, not 1: %r' % (len(lines),
                                                           r.err[-400:]))
    for w in want:
        check(w in lines[0], '%r not in the error line: %s' % (w, lines[0]))
    return lines[0]


def assert_unique_event_ids(db):
    con = lib.connect(db)
    try:
        dup = con.execute('SELECT event_id, count(*) FROM email_activities '
                          'GROUP BY event_id HAVING count(*) > 1').fetchall()
    finally:
        con.close()
    check(not dup, '%d event_id values stored more than once, e.g. %s' %
          (len(dup), dup[:1]))


def delta(before, after):
    return {k: after[k] - before.get(k, 0) for k in after
            if isinstance(after[k], int)}


def bq_run(t, bq, *args, expect=0, env=None):
    e = bq.env(t)
    if env:
        e.update(env)
    return t.espsync('--store', bq.store_url(), *args, env=e, expect=expect)


def test_bq_sync_equals_truth(t):
    """A sync equals the truth; a re-run adds no row; stats and state read
    the store; the events table has its partitioning and clustering."""
    sim, bq = setup(t)
    truth = sim.truth()
    r1 = bq_run(t, bq, 'sync', '-v')
    lib.assert_equals_truth(bq.to_sqlite(t.path('bq1.db')), truth,
                            what='bigquery store')
    before = lib.dump(t.path('bq1.db'))
    r2 = bq_run(t, bq, 'sync', '-v')
    after = lib.dump(bq.to_sqlite(t.path('bq2.db')))
    check(before == after, 're-run changed data rows',
          lib.diff_dumps(before, after))
    lib.assert_no_duplicate_events(t.path('bq2.db'))
    st = bq_run(t, bq, 'stats')
    check('complete' in st.out, 'stats shows no last run: %s' % st.out)
    ev = bq.table('email_activities')
    check(ev.get('timePartitioning', {}).get('field') == 'activity_date',
          'events not partitioned by activity_date: %s' % ev)
    check(ev.get('timePartitioning', {}).get('expirationMs') ==
          str(730 * 86400000), 'partition expiration is not 730 days')
    check(ev.get('clustering', {}).get('fields') ==
          ['contact_email', 'campaign_id', 'event_type'],
          'events clustering: %s' % ev.get('clustering'))
    no_secrets(bq, r1, r2, st)


def test_bq_idle_rerun_runs_no_job(t):
    """With nothing new at the provider, a re-run changes no row and runs
    no job: no jobs.insert (no load, no DML) and one query, the state read
    at the start (counted at the fake)."""
    sim, bq = setup(t)
    bq_run(t, bq, 'sync')
    before_rows = lib.dump(bq.to_sqlite(t.path('bq1.db')))
    s0 = bq.stats()
    r = bq_run(t, bq, 'sync', '-v')
    d = delta(s0, bq.stats())
    after_rows = lib.dump(bq.to_sqlite(t.path('bq2.db')))
    check(before_rows == after_rows, 're-run changed data rows',
          lib.diff_dumps(before_rows, after_rows))
    t.note('idle re-run: %d jobs.insert, %d loads, %d DML statements, '
           '%d queries, %d requests' % (d['inserts'], d['loads'], d['dml'],
                                        d['queries'], d['requests']))
    check(d['inserts'] == 0 and d['loads'] == 0 and d['dml'] == 0,
          'a re-run with nothing new ran %d jobs.insert (%d loads, %d DML '
          'statements)' % (d['inserts'], d['loads'], d['dml']),
          [x for x in r.err.splitlines() if x.startswith('bigquery:')])
    check(d['queries'] <= 1, 'a re-run with nothing new ran %d queries, '
          'not one state read' % d['queries'])


def test_bq_export_equals_sqlite(t):
    """export csv from BigQuery equals the SQLite store's export."""
    sim, bq = setup(t)
    bq_run(t, bq, 'sync')
    t.sync(expect=0)
    bq_run(t, bq, 'export', 'csv', '--export-dir', t.path('bqx'))
    t.espsync('export', 'csv', '--export-dir', t.path('sqx'), expect=0)
    a = sorted(os.listdir(t.path('sqx')))
    b = sorted(os.listdir(t.path('bqx')))
    check(a == b and a, 'exported files differ: %s vs %s' % (a, b))
    differ = [f for f in a if not filecmp.cmp(
        os.path.join(t.path('sqx'), f), os.path.join(t.path('bqx'), f),
        shallow=False)]
    check(not differ, 'CSV files differ from the SQLite export: %s' % differ)


def killed_at(t, bq, ds, point, skip):
    """Runs a sync into dataset ds with 300-row flushes; the fake holds the
    (skip+1)-th request at point unanswered; SIGKILLs espsync there."""
    bq.hold(point, skip)
    held = bq.stats()['held']
    env = t.base_env()
    env.update(bq.env(t))
    env.update(FLUSH_300)
    p = subprocess.Popen([lib.ESPSYNC, '--store', bq.store_url(ds), 'sync'],
                         cwd=t.scratch, env=env, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60 * lib.TIMEOUT_SCALE
        while bq.stats()['held'] == held:
            check(p.poll() is None, 'espsync exited %s before reaching %s '
                  '#%d' % (p.returncode, point, skip + 1))
            check(time.monotonic() < deadline, 'espsync never reached %s'
                  % point)
            time.sleep(0.02)
        check(p.poll() is None, 'espsync is not waiting at %s' % point)
    finally:
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
        p.wait()
        bq.faults(hold=None)


def test_bq_kill_resume(t):
    """SIGKILL before a load (its upload held), between a load and its
    MERGE (the flush script's jobs.insert held), while polling the load,
    and while polling a MERGE that has committed: the dataset has no
    duplicate, and a re-run equals the truth with no duplicate event_id."""
    sim, bq = setup(t)
    truth = sim.truth()
    for point, skip in (('load', 1), ('poll-load', 2), ('merge', 1),
                        ('poll-merge', 0)):
        ds = 'kill_' + point.replace('-', '_')
        s0 = bq.stats()
        killed_at(t, bq, ds, point, skip)
        d = delta(s0, bq.stats())
        db = bq.to_sqlite(t.path(ds + '-killed.db'), ds=ds)
        lib.assert_no_duplicate_events(db)
        assert_unique_event_ids(db)
        t.espsync('--store', bq.store_url(ds), 'sync', env=dict(
            bq.env(t), **FLUSH_300), expect=0)
        db = bq.to_sqlite(t.path(ds + '.db'), ds=ds)
        lib.assert_equals_truth(db, truth, what='bigquery store killed at '
                                '%s #%d' % (point, skip + 1))
        lib.assert_no_duplicate_events(db)
        assert_unique_event_ids(db)
        t.note('%s #%d: killed after %d loads' % (point, skip + 1,
                                                  d['loads']))


def test_bq_max_runtime_partial_converges(t):
    """At 400 ms per answer with --max-runtime 2s: runs exit 3 (each
    flushing what it read) until one exits 0; no event_id is ever stored
    twice; the dataset then equals the truth and the run log says
    partial ... complete."""
    sim = t.sim(latency_ms=400, campaigns=10)
    t.write_env(sim)
    bq = bqutil.start(t)
    truth = sim.truth()
    rcs = []
    for _ in range(30):
        r = bq_run(t, bq, '--max-runtime', '2s', 'sync', expect=None)
        rcs.append(r.rc)
        if r.rc not in (0, 3):
            fail('run %d: want exit 3 or 0, got %s' % (len(rcs),
                                                       r.describe()))
        db = bq.to_sqlite(t.path('bq%d.db' % len(rcs)))
        lib.assert_no_duplicate_events(db)
        assert_unique_event_ids(db)
        if r.rc == 0:
            break
    t.note('exits %s' % ''.join(map(str, rcs)))
    check(rcs[0] == 3, 'first run with --max-runtime 2s exited %d, not 3: '
          'the account is too small to test the budget' % rcs[0])
    check(rcs[-1] == 0, 'no complete run after %d partial runs' % len(rcs))
    lib.assert_equals_truth(db, truth, what='bigquery store after partial '
                            'runs')
    con = lib.connect(db)
    try:
        st = [x[0] for x in con.execute(
            'SELECT status FROM sync_runs ORDER BY started_at, run_id')]
    finally:
        con.close()
    want = ['partial'] * (len(rcs) - 1) + ['complete']
    check(st == want, 'sync_runs statuses %s, want %s' % (st, want))


def test_bq_partition_expiration_setting(t):
    """tables.get of email_activities: DAY partitions on activity_date,
    clustered by contact_email, campaign_id, event_type, partitions
    expiring after ESPSYNC_RETENTION_DAYS (90 here) or never (0)."""
    sim, bq = setup(t)
    for ds, days in (('ret90', '90'), ('ret0', '0')):
        t.espsync('--store', bq.store_url(ds), 'state', 'show', env=dict(
            bq.env(t), ESPSYNC_RETENTION_DAYS=days), expect=0)
        ev = bq.table('email_activities', ds=ds)
        tp = ev.get('timePartitioning', {})
        check(tp.get('type') == 'DAY' and tp.get('field') ==
              'activity_date', '%s: partitioning %s' % (ds, tp))
        want = str(int(days) * 86400000) if days != '0' else None
        check(tp.get('expirationMs') == want, '%s: expirationMs %r, want %r'
              % (ds, tp.get('expirationMs'), want))
        check(ev.get('clustering', {}).get('fields') ==
              ['contact_email', 'campaign_id', 'event_type'],
              '%s: clustering %s' % (ds, ev.get('clustering')))


def test_bq_faults_retried(t):
    """A 401 mid-run refreshes the token once; 503 backendError and 403
    rateLimitExceeded are retried; the sync still equals the truth."""
    sim, bq = setup(t)
    truth = sim.truth()
    bq.faults(unauth=1, http5xx=2, rateLimit=2)
    bq_run(t, bq, 'sync')
    s = bq.stats()
    check(s['tokens'] >= 2, 'no token refresh after a 401: %s' % s)
    lib.assert_equals_truth(bq.to_sqlite(t.path('bq.db')), truth,
                            what='bigquery store after faults')


def test_bq_failed_transaction_keeps_checkpoint(t):
    """A transaction that fails (not retryable) fails the run with exit 5;
    no checkpoint was committed without its data; a re-run converges."""
    sim, bq = setup(t)
    truth = sim.truth()
    bq_run(t, bq, 'state', 'show')  # creates the schema
    bq.faults(jobError={'count': 1, 'reason': 'invalidQuery',
                        'message': 'injected failure'})
    r = bq_run(t, bq, 'sync', expect=5)
    check('injected failure' in r.err, 'no job error line: %s' % r.err)
    # checkpoints: the store's own rows (bigquery:run says 'failed') aside
    rows = bq.sql('SELECT count(*) FROM `demo-proj.marketing.sync_state` '
                  "WHERE stream NOT LIKE 'bigquery:%'")
    check(rows['rows'][0][0] in (0, '0'),
          'checkpoints committed without data: %s' % rows)
    bq_run(t, bq, 'sync')
    lib.assert_equals_truth(bq.to_sqlite(t.path('bq.db')), truth,
                            what='bigquery store after a failed flush')


def test_bq_credential_failures(t):
    """Each credential failure exits 5 with one line naming what to fix
    and no key material: a missing key file, an unreadable one (a
    directory), one that is not a key, one whose private key is cut short,
    a key the token endpoint refuses, a project that does not exist
    (notFound), an account without the roles (accessDenied)."""
    sim, bq = setup(t)
    runs = []

    def fails(*want, env=None, url=None):
        e = bq.env(t)
        e.update(env or {})
        r = t.espsync('--store', url or bq.store_url(), 'sync', env=e)
        runs.append(r)
        return one_error_line(r, *want)

    fails('nope.json', 'No such file',
          env={'GOOGLE_APPLICATION_CREDENTIALS': t.path('nope.json')})
    os.makedirs(t.path('keydir'))
    fails("'%s'" % t.path('keydir'), 'Is a directory',
          env={'GOOGLE_APPLICATION_CREDENTIALS': t.path('keydir')})
    with open(t.path('notakey.json'), 'w') as f:
        f.write('hello\n')
    fails('notakey.json', 'not a JSON key file',
          env={'GOOGLE_APPLICATION_CREDENTIALS': t.path('notakey.json')})
    with open(bq.key_path) as f:
        key = json.load(f)
    cut = dict(key, private_key=key['private_key'][:900])
    with open(t.path('cut.json'), 'w') as f:
        json.dump(cut, f)
    fails('cut.json', 'private key',
          env={'GOOGLE_APPLICATION_CREDENTIALS': t.path('cut.json')})
    other = bqutil.Fake(t.path('.bq2'))
    pem = bqutil.make_key(other.workdir)
    with open(pem) as f:
        other._write_key(f.read(), bq.url + '/token')
    fails('invalid_grant',
          env={'GOOGLE_APPLICATION_CREDENTIALS': other.key_path})
    fails('not found', 'nope-proj', 'check the project and dataset',
          url='bigquery://nope-proj/marketing')
    bq.faults(accessDenied=1000)
    fails('accessDenied', 'BigQuery Data Editor', 'BigQuery Job User')
    bq.faults(accessDenied=0)
    no_secrets(bq, *runs)
    # and the account that has them works
    bq_run(t, bq, 'sync')


def test_bq_settings_from_env_file(t):
    """The store's settings (key file, API root, flush size) work from the
    .env file like every key, and check lists them with their source."""
    sim = t.sim()
    bq = bqutil.start(t)
    t.write_env(sim, extra='GOOGLE_APPLICATION_CREDENTIALS=%s\n'
                'BIGQUERY_API_URL=%s\nESPSYNC_BQ_FLUSH_ROWS=50\n'
                'ESPSYNC_BQ_BACKOFF_MS=20\n' % (bq.key_path, bq.url))
    truth = sim.truth()
    t.espsync('--store', bq.store_url(), 'sync', expect=0)
    lib.assert_equals_truth(bq.to_sqlite(t.path('bq.db')), truth,
                            what='bigquery store configured by .env')
    s = bq.stats()
    check(s['loads'] >= 3, 'ESPSYNC_BQ_FLUSH_ROWS=50 from .env not used: '
          '%d load jobs' % s['loads'])
    r = t.espsync('--store', bq.store_url(), 'check', '--json')
    keys = {k['key']: k for k in lib.jload(r.out, {})['config']}
    for key in ('GOOGLE_APPLICATION_CREDENTIALS', 'BIGQUERY_API_URL',
                'ESPSYNC_BQ_FLUSH_ROWS'):
        check(key in keys and keys[key]['source'] == '.env',
              'check does not list %s from .env: %s' % (key, keys.get(key)))
    check(keys['ESPSYNC_BQ_FLUSH_SECONDS']['source'] == 'default',
          'flush seconds not listed with its default')
    bad = t.espsync('--store', bq.store_url(), 'sync', expect=2,
                    env={'ESPSYNC_BQ_FLUSH_ROWS': '0'})
    check("'ESPSYNC_BQ_FLUSH_ROWS'" in bad.err,
          'an invalid flush size is not a configuration error: %s' % bad.err)


def test_bq_check_describes_store(t):
    """check shows the account's email, the key id's last 4 characters,
    the dataset, its location and each table's partitioning and
    clustering (text and --json), never key material."""
    sim, bq = setup(t)
    with open(bq.key_path) as f:
        key = json.load(f)
    r = bq_run(t, bq, 'check')
    for want in (key['client_email'], '...' + key['private_key_id'][-4:],
                 'demo-proj.marketing', 'location', 'US',
                 'table email_activities',
                 'partitioned by activity_date, clustered by contact_email,'
                 ' campaign_id, event_type, partitions expire after 730'
                 ' days', 'table sync_state'):
        check(want in r.out, 'check does not show %r:\n%s' % (want, r.out))
    check(key['private_key_id'] not in r.out, 'the whole key id is shown')
    j = bq_run(t, bq, 'check', '--json')
    d = {x['label']: x['value'] for x in
         lib.jload(j.out, {})['store']['details']}
    check(d.get('account') == key['client_email'] and
          d.get('dataset') == 'demo-proj.marketing' and
          d.get('table campaigns') == 'ok', 'check --json details %r' % d)
    no_secrets(bq, r, j)
    # a partition expiration unlike the setting is named
    r = bq_run(t, bq, 'check', env={'ESPSYNC_RETENTION_DAYS': '90'})
    check('ESPSYNC_RETENTION_DAYS says 90' in r.out,
          'a partition expiration unlike the setting is not said: %s' % r.out)


def verified_by_campaign(db):
    con = lib.connect(db)
    try:
        return {r['campaign_id']: (r['verified_opens'],
                                   r['verified_unique_opens'])
                for r in con.execute(
                    'SELECT campaign_id, verified_opens, '
                    'verified_unique_opens FROM campaigns WHERE '
                    'provider = ?', (aclib.PROVIDER,))}
    finally:
        con.close()


def test_bq_ac_sync_equals_truth(t):
    """An ActiveCampaign sync into BigQuery equals the simulator's truth;
    its verified opens equal the SQLite store's, and stats and the report
    show them."""
    sim = aclib.setup(t, ac_live=True)
    bq = bqutil.start(t)
    tr = aclib.truth(sim)
    bq_run(t, bq, 'sync', '--provider', aclib.PROVIDER)
    db = bq.to_sqlite(t.path('bq.db'))
    aclib.assert_equals_truth(db, tr, what='bigquery store (activecampaign)')
    aclib.assert_no_duplicates(db, what='bigquery store (activecampaign)')
    aclib.sync(t)
    want = verified_by_campaign(t.db())
    got = verified_by_campaign(db)
    check(want and any(v[0] is not None for v in want.values()),
          'the SQLite store has no verified opens: %r' % want)
    check(got == want, 'verified opens in BigQuery %r, SQLite %r' %
          (got, want))
    st = bq_run(t, bq, 'stats')
    check('Verified opens' in st.out, '`stats` on BigQuery shows no '
          'verified opens:\n%s' % st.out)
    sq = t.espsync('stats', expect=0)
    line = [x for x in sq.out.splitlines() if 'Verified opens' in x]
    check(line and line[0] in st.out, 'verified-opens line %r not in the '
          'BigQuery stats:\n%s' % (line, st.out))


def test_bq_migrates_schema_v1(t):
    """A dataset of schema version 1 (campaigns without verified opens)
    gets the columns by a tables.patch on open; the label and the meta row
    say the current version (3); the views get their current definition;
    the stored rows stay and the next sync fills them."""
    sim = aclib.setup(t)
    bq = bqutil.start(t)
    bq_run(t, bq, 'sync', '--provider', aclib.PROVIDER)
    before = bq.sql('SELECT count(*) FROM `demo-proj.marketing.campaigns`')
    bq._req('/_fake/table?t=marketing.campaigns',
            {'drop': ['verified_opens', 'verified_unique_opens']})
    bq._req('/_fake/table?t=marketing.meta',
            {'set': {'labels': {'espsync_schema': '1'}}})
    bq.sql("UPDATE `demo-proj.marketing.meta` SET value = '1' "
           "WHERE key = 'schema_version'")
    # the view as versions 1 and 2 made it (rates in FLOAT64)
    old = bq.table('campaign_engagement')['view']['query'].replace(
        'CAST(opened_unique AS NUMERIC)', 'opened_unique')
    check('NUMERIC' in bq.table('campaign_engagement')['view']['query'],
          'campaign_engagement does not divide in NUMERIC')
    bq.patch_table('campaign_engagement', {'view': {
        'query': old, 'useLegacySql': False}})
    cols = [f['name'] for f in bq.table('campaigns')['schema']['fields']]
    check('verified_opens' not in cols, 'downgrade failed: %s' % cols)
    bq_run(t, bq, 'state', 'show')
    t2 = bq.table('campaigns')
    fields = {f['name']: f for f in t2['schema']['fields']}
    check(fields.get('verified_opens', {}).get('type') == 'INT64' and
          fields.get('verified_unique_opens', {}).get('mode',
                                                      'NULLABLE') ==
          'NULLABLE', 'campaigns not migrated: %s' % list(fields))
    check(bq.table('meta').get('labels', {}).get('espsync_schema') ==
          SCHEMA_VERSION,
          'meta label after the migration: %s' % bq.table('meta'))
    row = bq.sql("SELECT value FROM `demo-proj.marketing.meta` "
                 "WHERE key = 'schema_version'")
    check(row['rows'] == [[SCHEMA_VERSION]], 'meta row after migration: %s'
          % row)
    q = bq.table('campaign_engagement')['view']['query']
    check('CAST(opened_unique AS NUMERIC)' in q,
          'campaign_engagement not migrated: %s' % q)
    bq.query('SELECT open_rate FROM `demo-proj.marketing.'
             'campaign_engagement`')
    after = bq.sql('SELECT count(*) FROM `demo-proj.marketing.campaigns`')
    check(before['rows'] == after['rows'], 'campaign rows lost: %s -> %s' %
          (before, after))
    # opening again patches nothing
    n = bq.stats().get('patches', 0)
    bq_run(t, bq, 'state', 'show')
    check(bq.stats().get('patches', 0) == n, 'a current dataset patched')
    sim._req('POST', '/_sim/advance', {'seconds': '3600'})
    bq_run(t, bq, 'sync', '--provider', aclib.PROVIDER)
    aclib.assert_equals_truth(bq.to_sqlite(t.path('bq.db')), aclib.truth(sim),
                              what='bigquery store after the migration')


def test_bq_mc_deleted_members(t):
    """Mailchimp members deleted upstream get deleted_at in BigQuery after
    `sync --full` (reconcile_contact_set in the flush transaction), live
    ones none; the store equals the truth."""
    sim = mclib.setup(t)
    bq = bqutil.start(t)
    env = bq.env(t)
    mclib.sync(t, '--store', bq.store_url(), env=env)
    sim.advance(7200)
    tr = mclib.truth(sim)
    gone = sorted(m['id'] for m in tr['members'] if m['deleted'])
    check(gone, 'advance of 2 h deleted no member')
    mclib.sync(t, '--store', bq.store_url(), '--full', env=env)
    db = bq.to_sqlite(t.path('bq.db'))
    mclib.assert_equals_truth(db, tr, what='bigquery store after --full')
    con = lib.connect(db)
    try:
        rows = {r['contact_id']: r['deleted_at'] for r in con.execute(
            'SELECT contact_id, deleted_at FROM contacts WHERE provider = ?',
            (mclib.PROVIDER,))}
    finally:
        con.close()
    live = [m for m in gone if m in rows and not rows[m]]
    check(not live, '%d of %d deleted members have no deleted_at in '
          'BigQuery, e.g. %s' % (len(live), len(gone), live[:1]))
    wrong = [k for k, v in rows.items() if v and k not in gone]
    check(not wrong, 'live members marked deleted: %s' % wrong[:5])


def test_bq_idle_run_costs_no_job(t):
    """-v prints each flush (rows, jobs, the activity_date range its events
    MERGE touched) and the run's BigQuery requests, jobs and bytes; a
    re-run with nothing new flushes nothing and runs no load or DML job:
    its one read of the checkpoints is a query."""
    sim, bq = setup(t)
    r1 = bq_run(t, bq, 'sync', '-v')
    flushes = FLUSH_RE.findall(r1.err)
    runs = RUN_RE.findall(r1.err)
    check(flushes and len(runs) == 1, 'no flush or run line in -v:\n%s' %
          r1.err[-2000:])
    n, _, jobs, _, up = (int(x) for x in runs[0])
    check(n == len(flushes) and jobs >= 2 * n and up > 0,
          'backfill run line %s for %d flushes' % (runs[0], len(flushes)))
    check(all(int(f[2]) >= 2 for f in flushes),
          'a flush with fewer than 2 jobs (load + script): %s' % flushes)
    days = [d for f in flushes for d in f[3:5] if d]
    got = bq.sql('SELECT CAST(MIN(activity_date) AS VARCHAR), '
                 'CAST(MAX(activity_date) AS VARCHAR) FROM '
                 '`demo-proj.marketing.email_activities`')['rows'][0]
    check(days and [min(days), max(days)] == list(got),
          'flush activity_date range %s..%s, stored events %s' %
          (min(days or ['-']), max(days or ['-']), got))
    before = bq.stats()
    r2 = bq_run(t, bq, 'sync', '-v')
    after = bq.stats()
    check(not FLUSH_RE.findall(r2.err), 'an idle run flushed:\n%s' % r2.err)
    runs = RUN_RE.findall(r2.err)
    check(len(runs) == 1, 'no run line in the idle run:\n%s' % r2.err)
    n, reqs, jobs, queries, _ = (int(x) for x in runs[0])
    check((n, jobs, queries) == (0, 0, 1) and reqs >= 1,
          'idle run: %d flushes, %d jobs, %d queries (want 0, 0, 1)' %
          (n, jobs, queries))
    check(after['loads'] == before['loads'] and
          after.get('dml', 0) == before.get('dml', 0),
          'the fake ran a load or DML in an idle run: %s -> %s' %
          (before, after))
    # the --json summary carries the run's store counts (sync_report)
    j = lib.jload(bq_run(t, bq, 'sync', '--json').out, {})
    st = [p.get('store') for p in j.get('providers', [])]
    check(len(st) == 1 and st[0] and st[0].get('jobs') == 0 and
          st[0].get('requests', 0) >= 1 and
          st[0].get('bytes_uploaded', 0) > 0,
          'idle run --json store counts: %s' % st)
    # an hour of activity: the rows not stored yet are written, the store
    # equals the truth, and the next run is idle again
    sim.advance(3600)
    r3 = bq_run(t, bq, 'sync', '-v')
    check(FLUSH_RE.findall(r3.err), 'no flush after an hour of activity')
    n, _, jobs, _, _ = (int(x) for x in RUN_RE.findall(r3.err)[0])
    check(n == 1 and jobs == 2, 'an hour of activity: %d flushes, %d jobs '
          '(want one flush: a load and a transaction)' % (n, jobs))
    db = bq.to_sqlite(t.path('bq3.db'))
    lib.assert_equals_truth(db, sim.truth(), what='bigquery store after '
                            'an hour of activity')
    lib.assert_no_duplicate_events(db)
    r4 = bq_run(t, bq, 'sync', '-v')
    runs = RUN_RE.findall(r4.err)
    check(runs and runs[0][2] == '0' and not FLUSH_RE.findall(r4.err),
          'the run after the hour of activity is not idle: %s' % runs)


def test_bq_ac_deletions_with_written_rows(t):
    """ActiveCampaign into BigQuery: after two hours of activity (contacts
    changed and deleted) a delta run, a reconciliation pass and another
    delta run leave the store equal to the truth, deleted contacts with a
    deleted_at and live ones without, although rows already written are
    not sent again; a run with nothing new then runs no job."""
    sim = aclib.setup(t)
    bq = bqutil.start(t)
    args = ('sync', '--provider', aclib.PROVIDER, '-v')
    bq_run(t, bq, *args)
    sim.advance(7200)
    tr = aclib.truth(sim)
    gone = sorted(c['id'] for c in tr['contacts'] if c['deleted'])
    check(gone, 'advance of 2 h deleted no contact')
    bq_run(t, bq, *args)
    bq_run(t, bq, *args, env={'ESPSYNC_RECONCILE': '0s'})
    bq_run(t, bq, *args)
    db = bq.to_sqlite(t.path('bq.db'))
    aclib.assert_equals_truth(db, tr, what='bigquery store (activecampaign)')
    con = lib.connect(db)
    try:
        rows = {r['contact_id']: r['deleted_at'] for r in con.execute(
            'SELECT contact_id, deleted_at FROM contacts WHERE provider = ?',
            (aclib.PROVIDER,))}
    finally:
        con.close()
    live = [c for c in gone if c in rows and not rows[c]]
    check(not live, '%d of %d deleted contacts have no deleted_at, e.g. %s'
          % (len(live), len(gone), live[:1]))
    wrong = [k for k, v in rows.items() if v and k not in gone]
    check(not wrong, 'live contacts marked deleted: %s' % wrong[:5])
    r = bq_run(t, bq, *args)
    runs = RUN_RE.findall(r.err)
    check(runs and runs[0][0] == '0' and runs[0][2] == '0',
          'a run with nothing new after the reconciliation: %s' % runs)
