"""ActiveCampaign contacts and lists: the keyset pass equals the truth in
the fewest requests, delta passes pick up changed and new contacts, a
reconciliation pass marks deleted ones (rows kept, deleted_at set), deep
offsets are never used, and a killed run resumes at its keyset position."""

import json
import signal
import subprocess
import time
import urllib.request

import aclib
import lib
from lib import check, fail

STREAMS = ('--streams', 'contacts,lists')


def contacts_state(db):
    con = lib.connect(db)
    try:
        row = con.execute(
            "SELECT value FROM sync_state WHERE provider = ? AND stream = "
            "'contacts'", (aclib.PROVIDER,)).fetchone()
    finally:
        con.close()
    check(row is not None, 'no contacts checkpoint in sync_state')
    return json.loads(row['value'])


def store_contacts(db):
    con = lib.connect(db)
    try:
        return {r['contact_id']: dict(r) for r in con.execute(
            'SELECT * FROM contacts WHERE provider = ?', (aclib.PROVIDER,))}
    finally:
        con.close()


def assert_contacts(db, tr, what):
    con = lib.connect(db)
    try:
        diffs = aclib.compare_contacts(con, tr)
        lists = {r['list_id']: r['name'] for r in con.execute(
            'SELECT list_id, name FROM lists WHERE provider = ?',
            (aclib.PROVIDER,))}
    finally:
        con.close()
    want = {x['id']: x['name'] for x in tr['lists']}
    if lists != want:
        diffs.append('lists %s, truth %s' % (lists, want))
    if diffs:
        fail('%s differs from truth: %s' % (what, diffs[0]), diffs[1:10])


def live_ids(tr):
    return sorted((int(c['id']) for c in tr['contacts'] if not c['deleted']))


def contact_pages(n_live):
    """Keyset pages of a full pass: a short page ends it, so a multiple of
    100 needs one more (empty) page."""
    return n_live // 100 + 1


def sync_counted(t, sim, *extra, **kw):
    sim.reset_stats()
    r = aclib.sync(t, *extra, **kw)
    return r, aclib.ac_requests(sim)


def test_ac_contacts_full_pass_equals_truth(t):
    """A first sync of contacts and lists reads fields, tags and lists once
    and then one keyset page per 100 contacts (side-loads included): the
    store equals the truth, lists included, and the checkpoint says a
    complete full pass."""
    sim = aclib.setup(t, ac_contacts=1234, ac_campaigns=2)
    tr = aclib.truth(sim)
    _, n = sync_counted(t, sim, *STREAMS)
    assert_contacts(t.db(), tr, 'store after the first contacts sync')
    pages = contact_pages(len(live_ids(tr)))
    want = 1 + 3 + pages  # probe, fields, tags, lists, contact pages
    check(n == want, 'first contacts sync made %d requests, want %d (probe, '
          'fields, tags, lists and %d keyset pages)' % (n, want, pages))
    st = contacts_state(t.db())
    check(st.get('pass') == 'full' and st.get('after_id') is None and
          st.get('full_at'), 'checkpoint after a complete full pass: %s' % st)
    _, again = sync_counted(t, sim, *STREAMS)
    check(again == 5, 'an idle re-run made %d requests, want 5 (one delta '
          'page)' % again)
    assert_contacts(t.db(), tr, 'store after an idle re-run')
    t.note('%d contacts: full pass %d requests, idle delta %d' % (
        len(live_ids(tr)), n, again))


def _delta_case(t, mode):
    sim = aclib.setup(t, ac_contacts=600, ac_campaigns=2,
                      ac_updated_after=mode)
    db = t.path('data', mode + '.db')
    args = STREAMS + ('--store', 'sqlite:' + db)
    aclib.sync(t, *args)
    before = {c['id']: c for c in aclib.truth(sim)['contacts']}
    adv = sim.advance(2 * 86400).get('activecampaign') or {}
    tr = aclib.truth(sim)
    gone = sorted(c['id'] for c in tr['contacts'] if c['deleted'])
    changed = [c['id'] for c in tr['contacts'] if not c['deleted'] and (
        c['id'] not in before or c['updated_at'] !=
        before[c['id']]['updated_at'])]
    check(gone and changed, 'advance made no deleted (%d) or changed (%d) '
          'contacts: %s' % (len(gone), len(changed), adv))
    _, delta = sync_counted(t, sim, *args)
    assert_contacts(db, tr, '[%s] store after advance + delta sync' %
                    mode)
    st = contacts_state(db)
    rows = store_contacts(db)
    early = [c for c in gone if rows.get(c, {}).get('deleted_at')]
    if mode == 'ignored':
        # The first page shows the filter ignored: the pass reads every
        # contact anyway, so it reconciles as a full pass.
        check(st.get('pass') == 'full' and len(early) == len(gone),
              '[ignored] a pass whose filter the server ignores did not '
              'become a full pass (%s) or marked %d of %d deleted' %
              (st, len(early), len(gone)))
    else:
        check(st.get('pass') == 'delta', '[%s] the run after a fresh full '
              'pass was not a delta pass: %s' % (mode, st))
        check(not early, '[%s] a delta pass marked deletions: %s' %
              (mode, early))
    # Reconciliation: a full pass now (interval 0) marks the deleted ones.
    _, full = sync_counted(t, sim, *args,
                           env={'ESPSYNC_RECONCILE': '0s'})
    assert_contacts(db, tr, '[%s] store after the reconciliation' % mode)
    rows = store_contacts(db)
    missing = [c for c in gone if c not in rows]
    live = [c for c in gone if c in rows and not rows[c]['deleted_at']]
    check(not missing, '[%s] deleted contacts removed from the store: %s' %
          (mode, missing[:5]))
    check(not live, '[%s] %d of %d deleted contacts have no deleted_at '
          'after reconciliation, e.g. %s' % (mode, len(live), len(gone),
                                              live[:1]))
    wrong = [k for k, r in rows.items() if r['deleted_at'] and k not in gone]
    check(not wrong, '[%s] live contacts marked deleted: %s' % (mode,
                                                                wrong[:5]))
    check(contacts_state(db).get('pass') == 'full', '[%s] ESPSYNC_'
          'RECONCILE=0s did not run a full pass' % mode)
    return delta, full, len(changed), len(gone)


def test_ac_contacts_delta_then_reconcile(t):
    """After two simulated days (contacts changed, created and deleted), a
    plain sync is a delta pass (filters[updated_after] with a day of
    overlap) that brings every live contact up to date in a few requests,
    whatever the filter's semantics (instants, local dates, ignored); a
    reconciliation pass then marks the deleted ones and nothing else. When
    the server ignores the filter the delta pass notices on its first page
    and reconciles as a full pass."""
    notes = []
    for mode in ('datetime', 'date', 'ignored'):
        delta, full, changed, gone = _delta_case(t, mode)
        if mode != 'ignored':
            check(delta < full, '[%s] delta pass %d requests, full %d' %
                  (mode, delta, full))
        notes.append('%s: delta %d req (%d changed), full %d req, %d '
                     'deleted' % (mode, delta, changed, full, gone))
    t.note('; '.join(notes))


def _get(url, key, timeout=120):
    req = urllib.request.Request(url, headers={'Api-Token': key})
    t0 = time.monotonic()
    with urllib.request.urlopen(req, timeout=timeout) as r:
        r.read()
    return time.monotonic() - t0


def test_ac_contacts_slow_offsets_do_not_slow_sync(t):
    """--ac-slow-offsets makes deep offsets slow (2 s per 1000 rows): a
    contacts pass of 2500 contacts stays fast because it pages by
    id_greater at offset 0."""
    sim = aclib.setup(t, ac_contacts=2500, ac_campaigns=1,
                      ac_slow_offsets=2000)
    slow = _get(sim.url + '/api/3/contacts?limit=1&offset=2000', lib.AC_KEY)
    check(slow >= 3.5, 'the simulator answered offset 2000 in %.1f s: '
          '--ac-slow-offsets has no effect, the test proves nothing' % slow)
    tr = aclib.truth(sim)
    r, n = sync_counted(t, sim, *STREAMS)
    assert_contacts(t.db(), tr, 'store after a sync with slow offsets')
    # Offset paging would wait 2 ms x (0 + 100 + ... + 2400) = 60 s.
    limit = 10 * lib.TIMEOUT_SCALE
    check(r.elapsed < limit, 'contacts sync took %.1f s with slow deep '
          'offsets (limit %d s): deep offsets used?' % (r.elapsed, limit))
    t.note('offset 2000 takes %.1f s; sync of %d contacts %.1f s, %d '
           'requests' % (slow, len(live_ids(tr)), r.elapsed, n))


def _kill_after(t, sim, k, env):
    sim.reset_stats()
    p = subprocess.Popen([lib.ESPSYNC, 'sync', '--provider', aclib.PROVIDER,
                          *STREAMS], cwd=t.scratch, env=env,
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
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
    lib.LEAKS.scan_text('%s: killed espsync' % t.name, out + err)
    check(killed, 'the sync to be killed ended first (exit %d)' %
          p.returncode)


def test_ac_contacts_killed_run_resumes_at_keyset(t):
    """A contacts pass SIGKILLed midway leaves its keyset position in
    sync_state; the next run continues from there (only the remaining
    pages, no page twice) and the store then equals the truth."""
    sim = aclib.setup(t, ac_contacts=3000, ac_campaigns=1, latency_ms=40)
    tr = aclib.truth(sim)
    ids = live_ids(tr)
    env = t.base_env()
    _kill_after(t, sim, 16, env)
    st = contacts_state(t.db())
    after = st.get('after_id')
    check(after is not None and st.get('pass') == 'full', 'no keyset '
          'position saved by the killed run: %s' % st)
    done = len([i for i in ids if i <= int(after)])
    check(done and done % 100 == 0, 'keyset position %s is not at a page '
          'boundary (%d contacts up to it)' % (after, done))
    _, n = sync_counted(t, sim, *STREAMS)
    left = contact_pages(len(ids) - done)
    check(n == 4 + left, 'resumed run made %d requests, want %d (probe, '
          'fields, tags, lists, %d remaining pages of %d)' %
          (n, 4 + left, left, contact_pages(len(ids))))
    assert_contacts(t.db(), tr, 'store after the killed run and a resume')
    check(contacts_state(t.db()).get('after_id') is None,
          'pass not closed after the resumed run')
    t.note('killed at id %s (%d of %d contacts); resume %d requests' % (
        after, done, len(ids), n))


def _reconcile_in_store(t, store, dump, env=None):
    """Full pass into store, advance with deletions, delta, then a
    reconciliation pass; dump(path) copies the store into SQLite; env
    (may be None) is added to each run's. Returns the number of deleted
    contacts."""
    sim = aclib.setup(t, ac_contacts=1500, ac_campaigns=1)
    e = dict(env or {})
    aclib.sync(t, *STREAMS, '--store', store, env=e)
    sim.advance(2 * 86400)
    tr = aclib.truth(sim)
    gone = sorted(c['id'] for c in tr['contacts'] if c['deleted'])
    check(gone, 'the advance deleted no contact')
    aclib.sync(t, *STREAMS, '--store', store, env=e)
    e['ESPSYNC_RECONCILE'] = '0s'
    aclib.sync(t, *STREAMS, '--store', store, env=e)
    aclib.sync(t, *STREAMS, '--store', store, env=e)
    path = dump(t.path('copy.db'))
    con = lib.connect(path)
    try:
        diffs = aclib.compare_contacts(con, tr)
        rows = {r['contact_id']: r['deleted_at'] for r in con.execute(
            'SELECT contact_id, deleted_at FROM contacts')}
    finally:
        con.close()
    if diffs:
        fail('store differs from truth: %s' % diffs[0], diffs[1:8])
    live = [c for c in gone if c not in rows or not rows[c]]
    check(not live, 'deleted contacts without deleted_at: %s' % live[:5])
    wrong = [k for k, v in rows.items() if v and k not in gone]
    check(not wrong, 'live contacts marked deleted: %s' % wrong[:5])
    return len(gone)


def test_ac_contacts_reconcile_postgresql(t):
    """Deletion marks on PostgreSQL: a reconciliation pass sets deleted_at
    on exactly the contacts gone upstream, twice in a row."""
    import pgutil
    db = pgutil.new_db(t)
    url = pgutil.cluster().url(db)
    n = _reconcile_in_store(t, url,
                            lambda p: pgutil.dump_to_sqlite(db, p) or p)
    t.note('%d deleted contacts marked' % n)


def _mongo_contacts_to_sqlite(cl, db, path):
    import sqlite3
    import mongoutil
    cols = ('provider', 'account', 'contact_id', 'email', 'first_name',
            'last_name', 'phone', 'status', 'fields', 'tags', 'lists',
            'created_at', 'updated_at', 'deleted_at')
    con = sqlite3.connect(path)
    con.execute('CREATE TABLE contacts (%s)' % ', '.join(cols))
    for d in cl.find(db, 'contacts'):
        row = []
        for k in cols:
            v = d.get(k)
            if k in ('fields', 'tags', 'lists'):
                v = mongoutil.jtext(v)
            elif k.endswith('_at'):
                v = mongoutil.iso(v)
            row.append(v)
        con.execute('INSERT INTO contacts VALUES (%s)' %
                    ','.join('?' * len(cols)), row)
    con.commit()
    con.close()
    return path


def test_ac_contacts_reconcile_mongodb(t):
    """Deletion marks on MongoDB (CongoDB test server): the same as on
    SQLite and PostgreSQL."""
    import mongoutil
    srv = mongoutil.start(t)
    db = 'espsync_ac'
    n = _reconcile_in_store(
        t, srv.url(db),
        lambda p: _mongo_contacts_to_sqlite(srv.client(), db, p))
    t.note('%d deleted contacts marked' % n)


def test_ac_contacts_reconcile_bigquery(t):
    """Deletion marks on BigQuery (the fake): the same as on SQLite, made
    by UPDATEs inside the flush transaction."""
    import bqutil
    bq = bqutil.start(t)
    env = {'GOOGLE_APPLICATION_CREDENTIALS': bq.key_path,
           'BIGQUERY_API_URL': bq.url, 'ESPSYNC_BQ_BACKOFF_MS': '20',
           'ESPSYNC_BQ_FLUSH_ROWS': '700'}
    n = _reconcile_in_store(t, bq.store_url(),
                            lambda p: bq.to_sqlite(p), env=env)
    t.note('%d deleted contacts marked' % n)
