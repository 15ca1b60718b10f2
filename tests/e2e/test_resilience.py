"""Faults, throttling and the time budget: the result still equals the
truth, and partial runs converge without duplicates."""

import lib
from lib import check, fail


def setup(t, **opts):
    sim = t.sim(**opts)
    t.write_env(sim)
    return sim


def test_faults_5xx_truncate_storm(t):
    sim = setup(t, fault_5xx=10, fault_truncate=2, storm_429=8,
                fault_seed=11)
    truth = sim.truth()
    t.sync()
    st = sim.stats()
    lib.assert_equals_truth(t.db(), truth, what='store under faults')
    n429 = lib.status_count(st, 429)
    n5xx = sum(v for k, v in (st.get('by_status') or {}).items()
               if k.startswith('5'))
    t.note('%d requests, %d faults, %d x 5xx, %d x 429' %
           (lib.requests_of(st), st.get('faults', 0), n5xx, n429))
    check(st.get('faults', 0) > 0 and n429 > 0,
          'the simulator injected no fault or no 429 (stats %s): test '
          'proves nothing' % st)


def test_storm_429_long(t):
    """Twenty 429s in a row (Retry-After 1 each) are ridden out."""
    sim = setup(t, storm_429=20)
    truth = sim.truth()
    t.sync()
    lib.assert_equals_truth(t.db(), truth, what='store after a 429 storm')
    t.note('%d x 429' % lib.status_count(sim.stats(), 429))


def test_run_log_counts_match_sim(t):
    """sync_runs.requests/throttled and the --json summary count every
    request the simulator saw, the throttled ones included."""
    sim = setup(t, storm_429=3, fault_5xx=5, fault_seed=4)
    sim.reset_stats()
    s = t.sync('--json').summary()
    st = sim.stats()
    con = lib.connect(t.db())
    try:
        run = con.execute('SELECT requests, retries, throttled FROM '
                          'sync_runs ORDER BY run_id DESC LIMIT 1').fetchone()
    finally:
        con.close()
    want_req, want_429 = lib.requests_of(st), lib.status_count(st, 429)
    t.note('sim %d requests / %d x 429; sync_runs %d requests, %d retries, '
           '%d throttled' % (want_req, want_429, run[0], run[1], run[2]))
    check(run[2] == want_429, 'sync_runs.throttled %d, the simulator sent '
          '%d x 429' % (run[2], want_429))
    check(run[0] == want_req, 'sync_runs.requests %d, the simulator served '
          '%d requests' % (run[0], want_req))
    check(lib.find_number(s, ('throttled',)) == want_429,
          '--json summary throttled %s, want %d' %
          (lib.find_number(s, ('throttled',)), want_429))


def test_faults_drop_empty_slow(t):
    sim = setup(t, fault_drop=4, fault_empty=4, fault_slow=10, slow_ms=300,
                fault_seed=5)
    truth = sim.truth()
    t.sync()
    st = sim.stats()
    lib.assert_equals_truth(t.db(), truth, what='store under faults')
    check(st.get('faults', 0) > 0, 'no fault injected: %s' % st)
    t.note('%d requests, %d faults' % (lib.requests_of(st),
                                        st.get('faults', 0)))


def test_faults_then_second_run_stable(t):
    """A run under faults followed by a clean one changes nothing."""
    sim = setup(t, fault_5xx=10, fault_truncate=3, fault_seed=2)
    t.sync()
    before = lib.dump(t.db())
    sim.faults(fault_5xx=0, fault_truncate=0)
    t.sync()
    d = lib.diff_dumps(before, lib.dump(t.db()))
    check(not d, 'clean re-run after a faulty run changed rows: %s' %
          (d[:1],), d[1:])
    lib.assert_equals_truth(t.db(), sim.truth())


def test_max_runtime_partial_converges(t):
    sim = setup(t, latency_ms=400, campaigns=10)
    truth = sim.truth()
    rcs = []
    for _ in range(30):
        r = t.espsync('--max-runtime', '2s', 'sync')
        rcs.append(r.rc)
        if r.rc == 0:
            break
        if r.rc != 3:
            fail('run %d: want exit 3 or 0, got %s (exits so far %s)' %
                 (len(rcs), r.describe(), rcs))
        lib.assert_no_duplicate_events(t.db())
    t.note('exits %s' % ','.join(map(str, rcs)))
    check(rcs[0] == 3, 'first run with --max-runtime 2s exited %d, not 3: '
          'the account is too small to test the budget' % rcs[0])
    check(rcs[-1] == 0, 'no complete run after %d partial runs' % len(rcs))
    lib.assert_equals_truth(t.db(), truth, what='store after partial runs')
    con = lib.connect(t.db())
    try:
        st = [r[0] for r in con.execute(
            'SELECT status FROM sync_runs ORDER BY run_id')]
    finally:
        con.close()
    want = ['partial'] * (len(rcs) - 1) + ['complete']
    check(st[-len(rcs):] == want, 'sync_runs statuses %s, want %s' %
          (st, want))


def test_max_runtime_json_partial(t):
    """--json with a budget: exit 3 and a summary that says partial."""
    setup(t, latency_ms=400, campaigns=10)
    r = t.espsync('--json', '--max-runtime', '2s', 'sync')
    check(r.rc == 3, 'want exit 3, got %s' % r.describe())
    s = r.summary()
    text = repr(s).lower()
    check('partial' in text, 'summary does not say partial: %s' %
          lib.mask(text[:300]))
