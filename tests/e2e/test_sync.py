"""Sync correctness: a full sync equals the simulator's truth, re-runs change
nothing, a single campaign, incremental runs, paging and data variants."""

import glob
import json
import os

import lib
from lib import check, fail


def setup(t, **opts):
    sim = t.sim(**opts)
    t.write_env(sim)
    return sim


def sent_campaigns(truth):
    return [c for c in truth['campaigns'] if c.get('sent_at')]


def busiest_campaign(truth):
    """The sent campaign with the most participants."""
    n = {}
    for p in truth.get('participants', []):
        n[p['campaign_id']] = n.get(p['campaign_id'], 0) + 1
    sent = sent_campaigns(truth)
    check(sent, 'simulated account has no sent campaign')
    return max(sent, key=lambda c: (n.get(c['id'], 0), c['id']))['id']


def last_run(db):
    con = lib.connect(db)
    try:
        return con.execute('SELECT * FROM sync_runs ORDER BY run_id DESC '
                           'LIMIT 1').fetchone()
    finally:
        con.close()


def test_full_sync_equals_truth(t):
    sim = setup(t)
    truth = sim.truth()
    check(sent_campaigns(truth) and lib.truth_events(truth),
          'simulated account has no sent campaign or no event')
    r = t.sync('--json')
    summary = r.summary()
    bad = []
    for ln in r.err_lines():
        try:
            if not isinstance(json.loads(ln), dict):
                bad.append(ln)
        except ValueError:
            bad.append(ln)
    check(not bad, '--json stderr has %d lines that are not JSON objects, '
          'e.g. %r' % (len(bad), (bad or [''])[0][:120]))
    lib.assert_equals_truth(t.db(), truth)
    run = last_run(t.db())
    check(run is not None, 'sync_runs has no row after a sync')
    check(run['status'] == 'complete',
          'last sync_runs status %r, want complete' % run['status'])
    check((run['requests'] or 0) > 0, 'sync_runs.requests is %r' %
          run['requests'])
    check(summary, '--json summary object is empty')
    t.note(lib.truth_summary(truth))


def test_full_sync_non_utc_local_time(t):
    """Timestamps are UTC whatever the machine's time zone."""
    sim = setup(t)
    t.sync(env={'TZ': 'Pacific/Chatham'})
    lib.assert_equals_truth(t.db(), sim.truth())


def assert_nothing_written(t, label, args):
    before = lib.dump(t.db())
    r = t.sync('--json', *args)
    after = lib.dump(t.db())
    d = lib.diff_dumps(before, after)
    if d:
        fail('%s changed rows: %s' % (label, d[0]), d[1:])
    s = r.summary()
    ins = lib.find_number(s, ('rows_inserted', 'inserted'))
    upd = lib.find_number(s, ('rows_updated', 'updated'))
    check(ins in (None, 0) and upd in (None, 0),
          '%s summary reports inserted=%s updated=%s, want 0' %
          (label, ins, upd))
    return ins, upd


def test_second_run_changes_no_row(t):
    sim = setup(t)
    t.sync()
    ins, upd = assert_nothing_written(t, 'second sync', ())
    if ins is None or upd is None:
        t.note('summary has no inserted/updated counts')
    assert_nothing_written(t, 'sync --full', ('--full',))
    lib.assert_equals_truth(t.db(), sim.truth())


def test_state_reset_then_resync_changes_no_row(t):
    sim = setup(t)
    t.sync()
    show = t.espsync('state', 'show', expect=0)
    check(show.out.strip(), '`state show` printed nothing after a sync')
    t.espsync('state', 'reset', expect=0)
    assert_nothing_written(t, 'sync after state reset', ())
    lib.assert_equals_truth(t.db(), sim.truth())


def test_single_campaign_only(t):
    sim = setup(t)
    truth = sim.truth()
    cid = busiest_campaign(truth)
    sim.reset_stats()
    t.sync('--campaign', cid)
    one = lib.requests_of(sim.stats())
    lib.assert_equals_truth(t.db(), truth, campaign=cid)
    check(lib.count_rows(t.db(), 'campaigns') == 1,
          'campaigns has %d rows after --campaign, want 1' %
          lib.count_rows(t.db(), 'campaigns'))

    # seed form: also writes that campaign's CSV, and only that one
    seed = t.path('seed')
    os.makedirs(seed)
    t.write_env(sim, name='seed/.env')
    t.espsync('--campaign', cid, cwd=seed, expect=0)
    lib.assert_equals_truth(os.path.join(seed, 'data', 'espsync.db'), truth,
                            campaign=cid, what='seed --campaign store')
    files = sorted(os.listdir(os.path.join(seed, 'data', 'exports')))
    check(len(files) == 1 and files[0].startswith('campaign_%s_' % cid)
          and files[0].endswith('.csv'),
          'seed --campaign wrote exports %s, want one campaign_%s_*.csv' %
          (files, cid))
    t.note('%d requests for one campaign' % one)


def test_incremental_after_advance(t):
    # enough sent campaigns that the (at most 3) touched by an advance are
    # a minority
    sim = setup(t, campaigns=20)
    sim.reset_stats()
    t.sync('--full')
    full = lib.requests_of(sim.stats())
    before = sim.truth()
    adv = sim.advance(86400)
    truth = sim.truth()
    new = lib.truth_events(truth) - lib.truth_events(before)
    check(adv.get('new_events', 0) > 0 and new,
          'advancing the simulator made no new events: %s' % adv)

    sim.reset_stats()
    t.sync()
    inc = lib.requests_of(sim.stats())
    lib.assert_equals_truth(t.db(), truth, what='store after advance+sync')
    t.note('full %d req, after advance %d req, %d new events' %
           (full, inc, len(new)))
    check(inc * 2 <= full,
          'sync after advance issued %d requests, full sync %d: want at most '
          'half' % (inc, full))



def test_incremental_hours_zero_after_advance(t):
    """--incremental --hours 0 skips no campaign for being recently checked
    (or is refused as a usage error): it must not silently mean 24."""
    sim = setup(t)
    t.sync()
    sim.advance(3600)
    truth = sim.truth()
    r = t.sync('--incremental', '--hours', '0', expect=None)
    if r.rc == 2:
        t.note('--hours 0 refused as a usage error')
        return
    check(r.rc == 0, 'want exit 0 (or 2), got %s' % r.describe())
    lib.assert_equals_truth(t.db(), truth,
                            what='store after --incremental --hours 0')


def test_incremental_hours_skips_recent(t):
    """--incremental --hours 24 right after a sync reads no campaign report
    again (the seed tool's meaning) and keeps the store intact."""
    sim = setup(t)
    sim.reset_stats()
    t.sync()
    full = lib.requests_of(sim.stats())
    before = lib.dump(t.db())
    sim.reset_stats()
    t.sync('--incremental', '--hours', '24')
    inc = lib.requests_of(sim.stats())
    d = lib.diff_dumps(before, lib.dump(t.db()))
    check(not d, '--incremental changed rows with nothing new: %s' %
          (d[:1],), d[1:])
    t.note('full %d req, --incremental %d req' % (full, inc))
    check(inc * 2 <= full, '--incremental --hours 24 issued %d requests, '
          'full sync %d: want at most half' % (inc, full))


def test_paging_end_empty(t):
    sim = setup(t, paging_end='empty')
    t.sync()
    lib.assert_equals_truth(t.db(), sim.truth())


def test_paging_end_absent(t):
    sim = setup(t, paging_end='absent')
    t.sync()
    lib.assert_equals_truth(t.db(), sim.truth())


def test_counts_array(t):
    sim = setup(t, counts_array=True)
    t.sync()
    lib.assert_equals_truth(t.db(), sim.truth())


def test_missing_occurred_at(t):
    """Report rows without occurred_at set flags but make no event."""
    sim = setup(t, missing_occurred_at=30)
    truth = sim.truth()
    t.sync()
    lib.assert_equals_truth(t.db(), truth)
    opened = {(p['campaign_id'], p['contact_id'])
              for p in truth['participants'] if p.get('opened')}
    with_event = {(e['campaign_id'], e['contact_id'])
                  for e in truth['events'] if e['type'] == 'open'}
    n = len(opened - with_event)
    check(n > 0, 'no opened participant without an open event: the test '
          'proves nothing')
    t.note('%d openers without an open event' % n)


def test_larger_multi_page_account(t):
    """More than one page (100 rows) per report and contact listing."""
    sim = setup(t, campaigns=5, lists=2, contacts=260)
    truth = sim.truth()
    t.sync()
    lib.assert_equals_truth(t.db(), truth)
    t.note(lib.truth_summary(truth))


def test_seed_all_writes_csv(t):
    sim = setup(t)
    truth = sim.truth()
    t.espsync('--all', expect=0)
    lib.assert_equals_truth(t.db(), truth, what='seed --all store')
    files = glob.glob(t.path('data', 'exports', 'campaign_*.csv'))
    want = len([c for c in truth['campaigns'] if c.get('sent_at')])
    check(len(files) == want, 'seed --all wrote %d CSV files, want %d (one '
          'per sent campaign)' % (len(files), want))


def test_free_plan_retention(t):
    """Rows past the Starter plan's 30 days lose occurred_at: flags stay,
    events go."""
    sim = setup(t, free_plan=True)
    truth = sim.truth()
    t.sync()
    lib.assert_equals_truth(t.db(), truth, what='store (free plan)')


def test_seed_incremental_form(t):
    sim = setup(t)
    t.espsync('--all', expect=0)
    sim.advance(7200)
    t.espsync('--incremental', '--hours', '1', expect=0)
    t.espsync('--incremental', expect=0)
    lib.assert_no_duplicate_events(t.db())


def test_draft_campaign_only(t):
    """--campaign on a draft: stored without statistics or participants,
    and its report 4xx is not a failure."""
    sim = setup(t)
    truth = sim.truth()
    drafts = [c for c in truth['campaigns'] if not c.get('summary')]
    check(drafts, 'simulated account has no draft/error campaign')
    cid = drafts[0]['id']
    t.sync('--campaign', cid)
    lib.assert_equals_truth(t.db(), truth, campaign=cid)
    check(lib.count_rows(t.db(), 'campaigns') == 1,
          'draft not stored by --campaign')


def test_store_url_precedence(t):
    """Store from .env < environment < --store; a bare *.db path works."""
    sim = setup(t)
    with open(t.path('.env'), 'a') as f:
        f.write('ESPSYNC_STORE=sqlite:from-envfile.db\n')
    t.sync()
    check(os.path.exists(t.path('from-envfile.db')),
          'ESPSYNC_STORE from .env not used')
    t.sync(env={'ESPSYNC_STORE': 'sqlite:from-env.db'})
    check(os.path.exists(t.path('from-env.db')),
          'ESPSYNC_STORE from the environment does not beat .env')
    t.espsync('--store', 'bare-path.db', 'sync',
              env={'ESPSYNC_STORE': 'sqlite:from-env.db'}, expect=0)
    check(os.path.exists(t.path('bare-path.db')),
          '--store bare-path.db does not beat the environment')
    lib.assert_equals_truth(t.path('bare-path.db'), sim.truth())
    check(not os.path.exists(t.path('data', 'espsync.db')),
          'the default store was created although another was configured')


def test_concurrent_syncs_same_store(t):
    """Two syncs into one SQLite file at once: neither corrupts the store
    nor hangs; at least one completes, the other one completes too or exits
    7 (the account's sync lease is held); a later run equals the truth."""
    import subprocess
    sim = setup(t, latency_ms=20)
    env = t.base_env()
    procs = [subprocess.Popen([lib.ESPSYNC, 'sync'], cwd=t.scratch, env=env,
                              stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(2)]
    rcs, errs = [], []
    for p in procs:
        try:
            out, err = p.communicate(timeout=180 * lib.TIMEOUT_SCALE)
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            fail('concurrent syncs did not finish within 180 s')
        lib.LEAKS.scan_text('%s: concurrent stdout' % t.name, out)
        lib.LEAKS.scan_text('%s: concurrent stderr' % t.name, err)
        rcs.append(p.returncode)
        errs.append(err.decode('utf-8', 'replace').strip().splitlines()[-1:])
    t.note('exits %s' % rcs)
    check(0 in rcs, 'neither concurrent sync completed: exits %s, %s' %
          (rcs, errs))
    check(all(rc in (0, 7) for rc in rcs),
          'unexpected exit codes %s: %s' % (rcs, errs))
    lib.assert_no_duplicate_events(t.db())
    t.sync()
    lib.assert_equals_truth(t.db(), sim.truth())


def test_quiet_success_is_silent(t):
    setup(t)
    r = t.espsync('-q', 'sync', expect=0)
    check(not r.err.strip(), '-q sync wrote to stderr: %r' %
          r.err_lines()[:2])
    check(not r.out.strip(), '-q sync wrote to stdout: %r' %
          r.out.strip().splitlines()[:2])
