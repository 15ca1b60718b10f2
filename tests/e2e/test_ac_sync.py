"""ActiveCampaign end to end: the real espsync against the simulated
ActiveCampaign account (v3 + v1 reports). A backfill equals the truth, a
run after time advances adds exactly the new events (late ones included),
re-runs change nothing, the time budget and SIGKILL converge without
duplicates, naive account-local timestamps become the right UTC instants
across DST changes. Faults, throttling and credentials are in
test_ac_faults.py."""

import collections
import datetime
import os
import random
import signal
import subprocess
import time

import aclib
import lib
from lib import check, fail


def test_ac_backfill_equals_truth(t):
    sim = aclib.setup(t)
    tr = aclib.truth(sim)
    check(aclib.truth_events(tr) and any(not c['is_draft']
                                         for c in tr['campaigns']),
          'simulated account has no sent campaign or no event')
    check({e['type'] for e in tr['events']} ==
          {'open', 'click', 'bounce', 'unsubscribe'},
          'the account lacks an event type: %s' %
          sorted({e['type'] for e in tr['events']}))
    r = aclib.sync(t, '--json')
    s = r.summary()
    aclib.assert_equals_truth(t.db(), tr)
    provs = s.get('providers') or []
    check(len(provs) == 1 and provs[0].get('provider') == aclib.PROVIDER
          and provs[0].get('status') == 'complete',
          '--json summary providers %s, want one complete %s run' %
          (lib.mask(repr(provs))[:300], aclib.PROVIDER))
    runs = aclib.runs(t.db())
    check(len(runs) == 1 and runs[0]['status'] == 'complete',
          'sync_runs for activecampaign: %s' %
          [(r['status'], r['error']) for r in runs])
    n = aclib.ac_requests(sim)
    check(runs[0]['requests'] == n, 'sync_runs.requests %s, the simulator '
          'served %d activecampaign requests' % (runs[0]['requests'], n))
    con = lib.connect(t.db())
    try:
        other = con.execute("SELECT count(*) FROM email_activities WHERE "
                            "provider <> 'activecampaign'").fetchone()[0]
        accts = [r[0] for r in con.execute(
            'SELECT DISTINCT account FROM campaigns')]
    finally:
        con.close()
    check(other == 0, '%d events of another provider stored although only '
          'activecampaign was asked for' % other)
    check(len(accts) == 1 and accts[0] and accts[0] != 'default',
          'campaign accounts %r: want the one API host' % accts)
    eo = sim.stats().get('by_provider', {}).get('emailoctopus', {})
    check(eo.get('requests', 0) == 0, '%s emailoctopus requests from an '
          'activecampaign-only configuration' % eo.get('requests'))
    t.note('%s; %d requests' % (aclib.summary(tr), n))


def test_ac_rerun_changes_no_row(t):
    sim = aclib.setup(t)
    tr = aclib.truth(sim)
    aclib.sync(t)
    first = aclib.ac_requests(sim)
    before = lib.dump(t.db())
    sim.reset_stats()
    r = aclib.sync(t, '--json')
    second = aclib.ac_requests(sim)
    d = lib.diff_dumps(before, lib.dump(t.db()))
    check(not d, 'second sync with nothing new changed rows: %s' %
          (d[:1],), d[1:])
    s = r.summary()
    ins = lib.find_number(s, ('rows_inserted',))
    upd = lib.find_number(s, ('rows_updated',))
    check(ins in (None, 0) and upd in (None, 0),
          'second sync reports inserted=%s updated=%s, want 0' % (ins, upd))
    aclib.assert_equals_truth(t.db(), tr, what='store after re-run')
    t.note('backfill %d requests, idle re-run %d' % (first, second))
    check(second * 2 <= first, 'an idle re-run issued %d requests, the '
          'backfill %d: want at most half' % (second, first))


def test_ac_advance_adds_exactly_new_events(t):
    """Advances of simulated time (a day, then four of 10 min): each
    following sync adds exactly the new events, also those timestamped in
    the 30 minutes before the previous sync's 'now' (late arrivals), among
    them some older than the newest event already stored (what a cursor
    without overlap would skip)."""
    sim = aclib.setup(t, ac_campaigns=20, ac_contacts=300)
    aclib.sync(t)
    backfill = aclib.ac_requests(sim)
    before = aclib.truth(sim)
    aclib.assert_equals_truth(t.db(), before, what='store after backfill')
    notes, n_below = [], 0
    for step, secs in enumerate((86400, 600, 600, 600, 600)):
        old_now = before['now']
        newest = max(k[3] for k in aclib.truth_events(before))
        adv = sim.advance(secs).get(aclib.PROVIDER) or {}
        after = aclib.truth(sim)
        new = aclib.truth_events(after) - aclib.truth_events(before)
        late = {k for k in new if k[3] < old_now}
        below = {k for k in new if k[3] < newest}
        n_below += len(below)
        check(new and late, 'advance %d s made %d new events, %d late: the '
              'test proves nothing (%s)' % (secs, len(new), len(late), adv))
        had = set(aclib.store_events(t.db()))
        sim.reset_stats()
        aclib.sync(t)
        n = aclib.ac_requests(sim)
        got = set(aclib.store_events(t.db()))
        added = got - had
        check(had <= got, 'sync after advance %d removed %d events' %
              (step + 1, len(had - got)))
        for what, want in (('events older than the newest stored event '
                            '%s' % newest, below),
                           ('late events (timestamped before the '
                            'previous now %s)' % old_now, late),
                           ('new events', new)):
            missing = sorted(want - added)
            check(not missing, 'sync after advance %d (+%d s) missed %d of '
                  '%d %s, e.g. %s' % (step + 1, secs, len(missing),
                                      len(want), what,
                                      missing[0] if missing else None))
        check(added == new, 'sync after advance %d added %d events not in '
              'the truth, e.g. %s' % (step + 1, len(added - new),
                                      sorted(added - new)[:1]))
        aclib.assert_equals_truth(t.db(), after, what='store after advance '
                                  '%d (+%d s) + sync' % (step + 1, secs))
        check(n < backfill, 'sync after advance %d issued %d requests, the '
              'backfill %d' % (step + 1, n, backfill))
        notes.append('+%ds: %d new (%d late, %d below newest), %d req' %
                     (secs, len(new), len(late), len(below), n))
        before = after
    t.note('backfill %d req; %s' % (backfill, '; '.join(notes)))
    check(n_below > 0, 'no new event was older than the newest stored one: '
          'the overlap is untested')


def test_ac_deleted_contacts_after_full(t):
    """Contacts deleted in the account (advance >= 1 h deletes some) are
    gone from the store or carry deleted_at after `sync --full`."""
    sim = aclib.setup(t)
    aclib.sync(t)
    sim.advance(7200)
    tr = aclib.truth(sim)
    gone = sorted((c['id'] for c in tr['contacts'] if c['deleted']), key=int)
    check(gone, 'advance of 2 h deleted no contact')
    aclib.sync(t, '--full')
    aclib.assert_equals_truth(t.db(), tr, what='store after advance + full')
    con = lib.connect(t.db())
    try:
        rows = {r['contact_id']: r['deleted_at'] for r in con.execute(
            'SELECT contact_id, deleted_at FROM contacts WHERE provider = ?',
            (aclib.PROVIDER,))}
    finally:
        con.close()
    live = [c for c in gone if c in rows and not rows[c]]
    check(not live, '%d of %d deleted contacts still live in the store '
          'after sync --full (no deleted_at), e.g. %s' % (len(live),
                                                           len(gone),
                                                           live[0]
                                                           if live else ''))
    t.note('%d deleted: %d kept with deleted_at, %d removed' % (
        len(gone), len([c for c in gone if c in rows]),
        len([c for c in gone if c not in rows])))


def test_ac_max_runtime_partial_runs_converge(t):
    """At the real 5 req/s an account that needs about a minute, synced
    with --max-runtime 8s: runs exit 3 until one exits 0; the union equals
    the truth with no duplicate event; no run overruns its budget by more
    than 2 s; and pacing at the limit draws at most one 429 per run."""
    sim = aclib.setup(t, ac_rate=5, ac_burst=1, ac_campaigns=28,
                      ac_contacts=500)
    tr = aclib.truth(sim)
    env = {'ESPSYNC_RATE_ACTIVECAMPAIGN': None}  # espsync's default 5/s
    rcs, times = [], []
    for _ in range(25):
        r = t.espsync('--max-runtime', '8s', 'sync', '--provider',
                      aclib.PROVIDER, env=env)
        rcs.append(r.rc)
        times.append(r.elapsed)
        if r.rc not in (0, 3):
            fail('run %d: want exit 3 or 0, got %s (exits so far %s)' %
                 (len(rcs), r.describe(), rcs))
        aclib.assert_no_duplicates(t.db(), 'store after run %d' % len(rcs))
        if r.rc == 0:
            break
        # as from cron: the next run does not start within the 200 ms the
        # account's bucket needs for its one token
        time.sleep(0.3)
    st = aclib.ac_stats(sim)
    t.note('exits %s, %d requests, %s x 429, longest run %.1f s' %
           (''.join(map(str, rcs)), st.get('requests', 0),
            (st.get('by_status') or {}).get('429', 0), max(times)))
    check(rcs[0] == 3, 'first run with --max-runtime 8s exited %d, not 3: '
          'the account is too small to test the budget' % rcs[0])
    check(rcs[-1] == 0, 'no complete run after %d partial runs' % len(rcs))
    check(len(rcs) >= 4, 'only %d runs of 8 s for an account that needs '
          'about a minute at 5 req/s' % len(rcs))
    aclib.assert_equals_truth(t.db(), tr, what='store after partial runs')
    st_rows = [r['status'] for r in aclib.runs(t.db())]
    want = ['partial'] * (len(rcs) - 1) + ['complete']
    check(st_rows == want, 'sync_runs statuses %s, want %s' % (st_rows,
                                                               want))
    over = [round(x, 1) for x in times if x > 8 + 2 * lib.TIMEOUT_SCALE]
    check(not over, 'runs with --max-runtime 8s took %s s' % over)
    # Pacing exactly at 5/s with no burst: scheduling jitter may make one
    # request of a run reach the simulator a few ms early (429, retried);
    # more than one per run means the client does not pace to the limit
    # (a burst of 5 gave 86 x 429 here).
    n429 = int((st.get('by_status') or {}).get('429', 0))
    check(n429 <= len(rcs), 'the simulator (5 req/s, no burst) sent %d x '
          '429 in %d runs to espsync at its default ActiveCampaign pacing'
          % (n429, len(rcs)))


def _killed_sync(t, sim, env, store, k):
    """Starts a sync into store and SIGKILLs it once the simulator has
    served k more ActiveCampaign requests. Returns (killed, requests)."""
    sim.reset_stats()
    p = subprocess.Popen([lib.ESPSYNC, '--store', store, 'sync',
                          '--provider', aclib.PROVIDER], cwd=t.scratch,
                         env=env, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60 * lib.TIMEOUT_SCALE
        while p.poll() is None and time.monotonic() < deadline:
            if aclib.ac_requests(sim) >= k:
                break
            time.sleep(0.002)
        killed = p.poll() is None
        if killed:
            p.send_signal(signal.SIGKILL)
        out, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    lib.LEAKS.scan_text('%s: killed espsync stdout' % t.name, out)
    lib.LEAKS.scan_text('%s: killed espsync stderr' % t.name, err)
    if not killed:
        check(p.returncode == 0, 'a sync to be killed finished with exit '
              '%d: %s' % (p.returncode,
                          lib.mask(err.decode('utf-8', 'replace')[-300:])))
    return killed, aclib.ac_requests(sim)


def test_ac_sigkill_random_points_then_resume(t):
    """Ten trials, each on a fresh store: a sync is SIGKILLed after a
    random number of requests, the resumed sync is SIGKILLed again at
    another random point, then a normal run. After every kill the store is
    a valid database without duplicate events; after the normal run it
    equals the truth."""
    sim = aclib.setup(t, ac_campaigns=10, ac_contacts=300, latency_ms=15,
                      ac_rate=200, ac_burst=20)
    tr = aclib.truth(sim)
    env = t.base_env()
    env['ESPSYNC_RATE_ACTIVECAMPAIGN'] = '200'
    sim.reset_stats()
    t.espsync('--store', 'sqlite:data/reference.db', 'sync', '--provider',
              aclib.PROVIDER, env={'ESPSYNC_RATE_ACTIVECAMPAIGN': '200'},
              expect=0)
    full = aclib.ac_requests(sim)
    check(full >= 20, 'a full sync takes only %d requests' % full)
    rng = random.Random(20261204)
    points, done = [], 0
    for trial in range(10):
        db = 'data/kill%d.db' % trial
        store = 'sqlite:' + db
        marks = []
        for k in (rng.randint(1, full - 1), rng.randint(1, full // 2)):
            killed, n = _killed_sync(t, sim, env, store, k)
            marks.append('%d' % n if killed else 'done')
            done += not killed
            if os.path.exists(t.path(db)):
                con = lib.connect(t.path(db))
                try:
                    ic = con.execute('PRAGMA integrity_check').fetchone()[0]
                finally:
                    con.close()
                check(ic == 'ok', 'trial %d: integrity_check after the '
                      'kill at %s requests: %s' % (trial + 1, marks, ic))
                aclib.assert_no_duplicates(t.path(db), 'trial %d after the '
                                           'kill at %s requests' %
                                           (trial + 1, marks))
        t.espsync('--store', store, 'sync', '--provider', aclib.PROVIDER,
                  env={'ESPSYNC_RATE_ACTIVECAMPAIGN': '200'}, expect=0)
        aclib.assert_equals_truth(t.path(db), tr, what='trial %d: store '
                                  'after kills at %s requests + a run' %
                                  (trial + 1, '/'.join(marks)))
        points.append('/'.join(marks))
    t.note('full sync %d requests; kills at %s' % (full, ' '.join(points)))
    check(done <= 5, '%d of 20 syncs finished before their kill point: '
          'the kills prove little' % done)


def _dst_instants(tr, lo, hi):
    return [e for e in tr['events']
            if e['type'] != 'bounce' and lo <= e['occurred_at'] <= hi]


def _naive_dst(t, now, change):
    """Naive v1 timestamps (no tstamp_iso) of a Chicago account whose
    events straddle the DST change at `change` (UTC)."""
    opts = {'ac_naive': True, 'ac_timezone': 'America/Chicago',
            'ac_contacts': 400}
    if now:
        opts['now'] = now
    sim = aclib.setup(t, tz='America/Chicago', **opts)
    tr = aclib.truth(sim)
    lo = lib.utc(change)
    day = 86400
    c = datetime.datetime.fromisoformat(lo.replace('Z', '+00:00'))
    a = (c - datetime.timedelta(seconds=day)).strftime('%Y-%m-%dT%H:%M:%SZ')
    b = (c + datetime.timedelta(seconds=day)).strftime('%Y-%m-%dT%H:%M:%SZ')
    around = _dst_instants(tr, a, b)
    before = [e for e in around if e['occurred_at'] < lo]
    after = [e for e in around if e['occurred_at'] >= lo]
    check(before and after, 'truth has %d events in the day before and %d '
          'in the day after the DST change %s: test proves nothing' %
          (len(before), len(after), lo))
    aclib.sync(t)
    aclib.assert_equals_truth(t.db(), tr, what='store (naive Chicago '
                              'timestamps)')
    t.note('%d events within a day before %s, %d after' %
           (len(before), lo, len(after)))


def test_ac_naive_timestamps_fall_back(t):
    """2025-11-02 (CDT -5 -> CST -6) with the simulator's default now."""
    _naive_dst(t, None, '2025-11-02T07:00:00Z')


def test_ac_naive_timestamps_spring_forward(t):
    """2026-03-08 (CST -6 -> CDT -5): now 2026-03-20."""
    _naive_dst(t, '2026-03-20T12:00:00Z', '2026-03-08T08:00:00Z')


def test_ac_and_eo_in_one_run(t):
    """`sync --provider all` with both providers configured: each equals
    its own truth; `stats --provider P` counts each one's own rows."""
    sim = aclib.sim(t)
    aclib.write_env(t, sim, extra='EMAILOCTOPUS_API_URL=%s\n'
                    'EMAILOCTOPUS_API_KEY=%s\n' % (sim.url, lib.KEY))
    t.sync('--provider', 'all')
    aclib.assert_equals_truth(t.db(), aclib.truth(sim), what='AC part')
    lib.assert_equals_truth(t.db(), sim.truth(), what='EO part')
    tr = aclib.truth(sim)
    r = t.espsync('--json', 'stats', '--provider', aclib.PROVIDER, expect=0)
    s = r.summary()
    want = {k: 0 for k in lib.EVENT_TYPES}
    for e in tr['events']:
        want[e['type']] += 1
    check(s.get('events') == want, '`stats --provider activecampaign` '
          'events %s, truth %s' % (s.get('events'), want))
    check(s.get('campaigns') == len(tr['campaigns']),
          '`stats --provider activecampaign` campaigns %s, truth %d' %
          (s.get('campaigns'), len(tr['campaigns'])))
    run = s.get('last_run') or {}
    check(run.get('provider') == aclib.PROVIDER and
          run.get('status') == 'complete', '`stats --provider '
          'activecampaign` last run %s' % run)
    r = t.espsync('--json', 'stats', '--provider', 'emailoctopus', expect=0)
    run = r.summary().get('last_run') or {}
    check(run.get('provider') == 'emailoctopus',
          '`stats --provider emailoctopus` last run %s' % run)
    r = t.espsync('state', 'show', expect=0)
    check('activecampaign' in r.out.lower(),
          '`state show` does not show activecampaign: %r' % r.out[:300])


def test_ac_check_and_export_csv(t):
    """`check` reaches the account; `export csv` writes one file per sent
    ActiveCampaign campaign with one row per participant."""
    import csv
    import glob
    sim = aclib.setup(t)
    tr = aclib.truth(sim)
    r = t.espsync('check', expect=0)
    line = [ln for ln in r.out.splitlines()
            if ln.startswith('activecampaign:')]
    check(line and ': ok' in line[0], '`check` line for activecampaign: '
          '%r' % (line or r.out[-300:]))
    check('set (%d chars)' % len(lib.AC_KEY) in r.out,
          '`check` does not show the key as "set (N chars)"')
    aclib.sync(t)
    t.espsync('export', 'csv', expect=0)
    parts = collections.Counter(
        e['campaign_id'] for e in
        {(e['campaign_id'], e['contact_id']): e
         for e in tr['events']}.values())
    sent = [c for c in tr['campaigns'] if not c['is_draft']]
    files = sorted(glob.glob(t.path('data', 'exports', 'campaign_*.csv')))
    check(len(files) == len(sent), 'export wrote %d files, want %d (one '
          'per sent campaign)' % (len(files), len(sent)))
    for c in sent:
        fs = glob.glob(t.path('data', 'exports', 'campaign_%s_*.csv' %
                              c['id']))
        check(len(fs) == 1, 'campaign %s: %d CSV files' % (c['id'],
                                                            len(fs)))
        with open(fs[0], newline='', encoding='utf-8') as f:
            rows = list(csv.reader(f))
        check(len(rows) - 1 == parts[c['id']], 'campaign %s: %d CSV rows, '
              '%d participants in the truth' % (c['id'], len(rows) - 1,
                                                parts[c['id']]))


def _account_copy(t, db, account, name):
    """A copy of the store holding only account's rows."""
    import shutil
    import sqlite3
    dst = t.path('data', name)
    shutil.copy(db, dst)
    con = sqlite3.connect(dst)
    try:
        for tb in lib.tables(con):
            cols = [r[1] for r in con.execute('PRAGMA table_info("%s")' % tb)]
            if 'account' in cols:
                con.execute('DELETE FROM "%s" WHERE account IS NOT ?' % tb,
                            (account,))
        con.commit()
    finally:
        con.close()
    return dst


def test_ac_two_accounts_one_store(t):
    """Two ActiveCampaign accounts with the same ids (same seed) in one
    store under ESPSYNC_ACCOUNT names: neither overwrites the other and
    each equals its truth."""
    a = aclib.sim(t)
    b = aclib.sim(t)
    tr = aclib.truth(a)
    for name, s in (('acct-a', a), ('acct-b', b)):
        aclib.sync(t, env={'ACTIVECAMPAIGN_API_URL': s.url,
                           'ACTIVECAMPAIGN_API_KEY': lib.AC_KEY,
                           'ACTIVECAMPAIGN_TIMEZONE': aclib.TZ,
                           'ESPSYNC_ACCOUNT': name})
    con = lib.connect(t.db())
    try:
        accts = sorted(r[0] for r in con.execute(
            'SELECT DISTINCT account FROM email_activities'))
        n = con.execute('SELECT count(*) FROM email_activities').fetchone()[0]
    finally:
        con.close()
    check(accts == ['acct-a', 'acct-b'], 'event accounts %s' % accts)
    check(n == 2 * len(tr['events']), '%d events for two accounts of %d '
          'events each' % (n, len(tr['events'])))
    for name in ('acct-a', 'acct-b'):
        aclib.assert_equals_truth(_account_copy(t, t.db(), name,
                                                name + '.db'), tr,
                                  what='account %s' % name)


def test_ac_single_campaign_and_unknown(t):
    """--campaign ID syncs that campaign's rows only (equal to its truth);
    an id the account does not have exits 6 and names it."""
    sim = aclib.setup(t)
    tr = aclib.truth(sim)
    sent = [c for c in tr['campaigns'] if not c['is_draft']]
    cid = max(sent, key=lambda c: (c['uniqueopens'], int(c['id'])))['id']
    aclib.sync(t, '--campaign', cid)
    aclib.assert_equals_truth(t.db(), tr, campaign=cid,
                              what='store after --campaign %s' % cid)
    con = lib.connect(t.db())
    try:
        other = con.execute('SELECT count(*) FROM email_activities WHERE '
                            'campaign_id <> ?', (cid,)).fetchone()[0]
    finally:
        con.close()
    check(other == 0, '%d events of other campaigns after --campaign %s' %
          (other, cid))
    r = aclib.sync(t, '--campaign', '99999', expect=None)
    check(r.rc == 6 and '99999' in r.err, 'unknown campaign: want exit 6 '
          'naming it, got %s' % r.describe())
