"""Mailchimp end to end: the real espsync against the simulated Mailchimp
account. A full sync equals the truth (archived and cleaned members, tags
past 50, "" times), re-runs change nothing, after a time advance only the
campaigns whose report counters moved are re-read, SIGKILL at random
points and --max-runtime partial runs converge, and espsync never has more
than its connection cap in flight. Faults, throttling and credentials are
in test_mc_faults.py."""

import os
import random
import signal
import subprocess
import time

import lib
import mclib
from lib import check, fail


def test_mc_full_sync_equals_truth(t):
    sim = mclib.setup(t, mc_campaigns=10, mc_contacts=200, mc_lists=2)
    tr = mclib.truth(sim)
    check({e['type'] for e in tr['events']} ==
          {'open', 'click', 'bounce', 'unsubscribe', 'complaint'},
          'the account lacks an event type: %s' %
          sorted({e['type'] for e in tr['events']}))
    check(any(m['tags_count'] > 50 for m in tr['members']) and
          any(m['status'] == 'archived' for m in tr['members']),
          'the account has no member with more than 50 tags or archived')
    r = mclib.sync(t, '--json')
    s = r.summary()
    mclib.assert_equals_truth(t.db(), tr)
    provs = s.get('providers') or []
    check(len(provs) == 1 and provs[0].get('provider') == mclib.PROVIDER
          and provs[0].get('status') == 'complete',
          '--json summary providers %s' % lib.mask(repr(provs))[:300])
    # each campaign counted once, though /reports and /campaigns both
    # list the sent ones
    n_camp = (provs[0].get('records') or {}).get('campaigns')
    check(n_camp == len(tr['campaigns']), 'summary counts %s campaigns, '
          'the account has %d' % (n_camp, len(tr['campaigns'])))
    runs = mclib.runs(t.db())
    check(len(runs) == 1 and runs[0]['status'] == 'complete',
          'sync_runs: %s' % [(x['status'], x['error']) for x in runs])
    n = mclib.requests(sim)
    check(runs[0]['requests'] == n, 'sync_runs.requests %s, the simulator '
          'served %d mailchimp requests' % (runs[0]['requests'], n))
    check(mclib.status(sim, 429) == 0 and mclib.peak(sim) <= 6,
          'default connections: peak %d in flight, %d x 429 (want <= 6, '
          '0)' % (mclib.peak(sim), mclib.status(sim, 429)))
    con = lib.connect(t.db())
    try:
        lists = {r['list_id'] for r in con.execute(
            'SELECT list_id FROM lists WHERE provider = ?',
            (mclib.PROVIDER,))}
    finally:
        con.close()
    check(lists == {x['id'] for x in tr['lists']}, 'lists %s, truth %s' %
          (sorted(lists), sorted(x['id'] for x in tr['lists'])))
    t.note('%s; %d requests, peak %d in flight' % (
        mclib.summary(tr), n, mclib.peak(sim)))


def test_mc_rerun_changes_no_row(t):
    sim = mclib.setup(t)
    tr = mclib.truth(sim)
    mclib.sync(t)
    first = mclib.requests(sim)
    before = lib.dump(t.db())
    sim.reset_stats()
    mclib.reads(sim, reset=True)
    r = mclib.sync(t, '--json')
    second = mclib.requests(sim)
    d = lib.diff_dumps(before, lib.dump(t.db()))
    check(not d, 'second sync with nothing new changed rows: %s' %
          (d[:1],), d[1:])
    s = r.summary()
    ins = lib.find_number(s, ('rows_inserted',))
    upd = lib.find_number(s, ('rows_updated',))
    check(ins in (None, 0) and upd in (None, 0),
          'second sync reports inserted=%s updated=%s, want 0' % (ins, upd))
    mclib.assert_equals_truth(t.db(), tr, what='store after re-run')
    rd = mclib.reads(sim)
    check(not rd, 'an idle re-run read per-recipient reports of %d '
          'campaigns: %s' % (len(rd), rd))
    t.note('full sync %d requests, idle re-run %d' % (first, second))
    check(second * 3 <= first, 'an idle re-run issued %d requests, the '
          'full sync %d' % (second, first))


def test_mc_advance_rereads_only_changed_campaigns(t):
    """After each advance (an hour, a day, ten minutes) the next sync adds
    exactly the new events (some timestamped before the previous now),
    and reads per-recipient reports only of campaigns whose counters moved
    (a draft sent during the advance included)."""
    sim = mclib.setup(t, mc_campaigns=12, mc_contacts=200)
    mclib.sync(t)
    full = mclib.requests(sim)
    before = mclib.truth(sim)
    mclib.assert_equals_truth(t.db(), before, what='store after full sync')
    notes = []
    for step, secs in enumerate((3600, 86400, 600)):
        adv = sim.advance(secs).get(mclib.PROVIDER)
        after = mclib.truth(sim)
        old = {c['id']: tuple(c[k] for k in mclib.TRUTH_STATS)
               for c in before['campaigns']}
        changed = {c['id'] for c in after['campaigns'] if not c['is_draft']
                   and old.get(c['id']) !=
                   tuple(c[k] for k in mclib.TRUTH_STATS)}
        new = mclib.truth_events(after) - mclib.truth_events(before)
        check(new and changed, 'advance %d s made %d new events in %d '
              'campaigns: the test proves nothing (%s)' %
              (secs, len(new), len(changed), adv))
        sim.reset_stats()
        mclib.reads(sim, reset=True)
        had = set(mclib.store_events(t.db()))
        mclib.sync(t)
        n = mclib.requests(sim)
        got = set(mclib.store_events(t.db()))
        missing = sorted(new - got, key=repr)
        check(not missing, 'sync after advance %d (+%d s) missed %d of %d '
              'new events, e.g. %s' % (step + 1, secs, len(missing),
                                       len(new), missing[:1]))
        check(had <= got, 'sync after advance %d removed events' %
              (step + 1))
        mclib.assert_equals_truth(t.db(), after, what='store after advance '
                                  '%d (+%d s)' % (step + 1, secs))
        rd = set(mclib.reads(sim))
        check(rd <= changed, 'sync after advance %d re-read campaigns whose '
              'counters did not change: %s' % (step + 1,
                                               sorted(rd - changed)))
        check(n < full, 'sync after advance %d issued %d requests, the full '
              'sync %d' % (step + 1, n, full))
        notes.append('+%ds: %d new events, %d changed campaigns, %d read, '
                     '%d req' % (secs, len(new), len(changed), len(rd), n))
        before = after
    t.note('full %d req; %s' % (full, '; '.join(notes)))


def test_mc_deleted_members_after_full(t):
    """Members deleted permanently (an advance of 2 h deletes some) are gone
    from the store or carry deleted_at after `sync --full`."""
    sim = mclib.setup(t)
    mclib.sync(t)
    sim.advance(7200)
    tr = mclib.truth(sim)
    gone = sorted(m['id'] for m in tr['members'] if m['deleted'])
    check(gone, 'advance of 2 h deleted no member')
    mclib.sync(t, '--full')
    mclib.assert_equals_truth(t.db(), tr, what='store after advance + full')
    con = lib.connect(t.db())
    try:
        rows = {r['contact_id']: r['deleted_at'] for r in con.execute(
            'SELECT contact_id, deleted_at FROM contacts WHERE provider = ?',
            (mclib.PROVIDER,))}
    finally:
        con.close()
    live = [m for m in gone if m in rows and not rows[m]]
    check(not live, '%d of %d deleted members still live in the store '
          'after sync --full, e.g. %s' % (len(live), len(gone),
                                          live[:1]))


def _deleted_at(db):
    con = lib.connect(db)
    try:
        return {r['contact_id']: r['deleted_at'] for r in con.execute(
            'SELECT contact_id, deleted_at FROM contacts WHERE provider = ?',
            (mclib.PROVIDER,))}
    finally:
        con.close()


def test_mc_deleted_members_periodic_scan(t):
    """Without --full the id scan runs when the last one is ESPSYNC_RECONCILE
    old (default 24 h): a run right after a scan marks nothing and reads
    only changed members; with ESPSYNC_RECONCILE=0s (every run) the next
    run marks exactly the deleted members."""
    sim = mclib.setup(t)
    mclib.sync(t)
    sim.advance(2 * 86400)
    tr = mclib.truth(sim)
    gone = sorted(m['id'] for m in tr['members'] if m['deleted'])
    check(gone, 'advance of 2 days deleted no member')
    mclib.sync(t)
    rows = _deleted_at(t.db())
    early = [m for m in gone if rows.get(m)]
    check(not early, '%d deleted members marked by a run within 24 h of '
          'the last scan' % len(early))
    mclib.sync(t, env={'ESPSYNC_RECONCILE': '0s'})
    mclib.assert_equals_truth(t.db(), tr, what='store after the scan')
    rows = _deleted_at(t.db())
    live = [m for m in gone if m in rows and not rows[m]]
    check(not live, '%d of %d deleted members still live after the '
          'periodic scan, e.g. %s' % (len(live), len(gone), live[:1]))
    t.note('%d deleted members marked' % len(gone))


def _deleted_in_store(t, store, dump):
    sim = mclib.setup(t)
    mclib.sync(t, '--store', store)
    sim.advance(2 * 86400)
    tr = mclib.truth(sim)
    gone = sorted(m['id'] for m in tr['members'] if m['deleted'])
    check(gone, 'advance of 2 days deleted no member')
    mclib.sync(t, '--store', store, '--full')
    mclib.sync(t, '--store', store, '--full')
    path = dump(t.path('copy.db'))
    con = lib.connect(path)
    try:
        diffs = mclib.compare_contacts(con, tr)
    finally:
        con.close()
    if diffs:
        fail('store differs from truth: %s' % diffs[0], diffs[1:8])
    rows = _deleted_at(path)
    live = [m for m in gone if m not in rows or not rows[m]]
    check(not live, 'deleted members without deleted_at: %s' % live[:5])
    return len(gone)


def test_mc_deleted_members_postgresql(t):
    """Deletion marks of the id scan on PostgreSQL, twice in a row."""
    import pgutil
    db = pgutil.new_db(t)
    n = _deleted_in_store(t, pgutil.cluster().url(db),
                          lambda p: pgutil.dump_to_sqlite(db, p) or p)
    t.note('%d deleted members marked' % n)


def test_mc_deleted_members_mongodb(t):
    """Deletion marks of the id scan on MongoDB (CongoDB test server)."""
    import mongoutil
    from test_ac_contacts import _mongo_contacts_to_sqlite
    srv = mongoutil.start(t)
    db = 'espsync_mc'
    n = _deleted_in_store(
        t, srv.url(db),
        lambda p: _mongo_contacts_to_sqlite(srv.client(), db, p))
    t.note('%d deleted members marked' % n)


def test_mc_never_more_than_connections_in_flight(t):
    """At 50 ms per answer the simulator counts its peak of simultaneous
    Mailchimp requests: espsync stays at its default 6, and at 10 with
    ESPSYNC_CONNECTIONS_MAILCHIMP=10 (the simulator's limit), 0 x 429."""
    sim = mclib.setup(t, mc_campaigns=10, mc_contacts=300,
                      mc_latency_ms=50)
    tr = mclib.truth(sim)
    notes = []
    for conns, db in ((None, 'data/d6.db'), ('10', 'data/d10.db')):
        sim.reset_stats()
        env = {'ESPSYNC_CONNECTIONS_MAILCHIMP': conns}
        t.espsync('--store', 'sqlite:' + db, 'sync', '--provider',
                  mclib.PROVIDER, env=env, expect=0)
        want = int(conns or 6)
        pk, n429 = mclib.peak(sim), mclib.status(sim, 429)
        notes.append('%d: peak %d, %d requests' % (want, pk,
                                                    mclib.requests(sim)))
        check(pk <= want and n429 == 0, 'ESPSYNC_CONNECTIONS_MAILCHIMP=%s: '
              'peak %d requests in flight, %d x 429' % (conns, pk, n429))
        check(pk >= min(want, 4), 'peak %d in flight with %d allowed: '
              'espsync does not use its connections' % (pk, want))
        mclib.assert_equals_truth(t.path(db), tr, what='store (%d conns)'
                                  % want)
    t.note('; '.join(notes))


def test_mc_max_runtime_partial_runs_converge(t):
    """At 300 ms per answer with --max-runtime 3s: runs exit 3 until one
    exits 0; the union equals the truth without a duplicate; no run
    overruns its budget by more than 2 s."""
    sim = mclib.setup(t, mc_campaigns=30, mc_contacts=1500,
                      mc_latency_ms=300)
    tr = mclib.truth(sim)
    rcs, times = [], []
    for _ in range(40):
        r = t.espsync('--max-runtime', '3s', 'sync', '--provider',
                      mclib.PROVIDER)
        rcs.append(r.rc)
        times.append(r.elapsed)
        if r.rc not in (0, 3):
            fail('run %d: want exit 3 or 0, got %s' % (len(rcs),
                                                       r.describe()))
        mclib.assert_no_duplicates(t.db(), 'store after run %d' % len(rcs))
        if r.rc == 0:
            break
    t.note('exits %s, %d requests, longest run %.1f s' % (
        ''.join(map(str, rcs)), mclib.requests(sim), max(times)))
    check(rcs[0] == 3, 'first run exited %d, not 3: the account is too '
          'small to test the budget' % rcs[0])
    check(rcs[-1] == 0, 'no complete run after %d partial runs' % len(rcs))
    mclib.assert_equals_truth(t.db(), tr, what='store after partial runs')
    over = [round(x, 1) for x in times if x > 3 + 2 * lib.TIMEOUT_SCALE]
    check(not over, 'runs with --max-runtime 3s took %s s' % over)


def _killed_sync(t, sim, env, store, k):
    sim.reset_stats()
    p = subprocess.Popen([lib.ESPSYNC, '--store', store, 'sync',
                          '--provider', mclib.PROVIDER], cwd=t.scratch,
                         env=env, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60 * lib.TIMEOUT_SCALE
        while p.poll() is None and time.monotonic() < deadline:
            if mclib.requests(sim) >= k:
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
    return killed, mclib.requests(sim)


def test_mc_sigkill_random_points_then_resume(t):
    """Six trials on fresh stores: a sync SIGKILLed after a random number of
    requests, the resumed one killed again, then a normal run: after every
    kill the store is valid without duplicates; at the end it equals the
    truth."""
    sim = mclib.setup(t, mc_campaigns=10, mc_contacts=400, mc_latency_ms=10)
    tr = mclib.truth(sim)
    env = t.base_env()
    sim.reset_stats()
    t.espsync('--store', 'sqlite:data/reference.db', 'sync', '--provider',
              mclib.PROVIDER, expect=0)
    full = mclib.requests(sim)
    check(full >= 20, 'a full sync takes only %d requests' % full)
    rng = random.Random(20261206)
    points, done = [], 0
    for trial in range(6):
        db = 'data/kill%d.db' % trial
        marks = []
        for k in (rng.randint(1, full - 1), rng.randint(1, full // 2)):
            killed, n = _killed_sync(t, sim, env, 'sqlite:' + db, k)
            marks.append('%d' % n if killed else 'done')
            done += not killed
            if os.path.exists(t.path(db)):
                con = lib.connect(t.path(db))
                try:
                    ic = con.execute('PRAGMA integrity_check').fetchone()[0]
                finally:
                    con.close()
                check(ic == 'ok', 'trial %d: integrity_check: %s' %
                      (trial + 1, ic))
                mclib.assert_no_duplicates(t.path(db), 'trial %d after the '
                                           'kill at %s' % (trial + 1, marks))
        t.espsync('--store', 'sqlite:' + db, 'sync', '--provider',
                  mclib.PROVIDER, expect=0)
        mclib.assert_equals_truth(t.path(db), tr, what='trial %d: store '
                                  'after kills at %s + a run' %
                                  (trial + 1, '/'.join(marks)))
        points.append('/'.join(marks))
    t.note('full sync %d requests; kills at %s' % (full, ' '.join(points)))
    check(done <= 3, '%d of 12 syncs finished before their kill point' %
          done)
