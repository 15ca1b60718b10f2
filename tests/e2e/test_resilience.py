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


def test_fault_503_and_403(t):
    """Overload 503s (with Retry-After) and intermittent 403s are retried."""
    sim = setup(t, fault_503=5, fault_403=3, fault_seed=8)
    truth = sim.truth()
    t.sync()
    st = sim.stats()
    lib.assert_equals_truth(t.db(), truth, what='store under 503/403')
    t.note('by_status %s' % st.get('by_status'))
    check(lib.status_count(st, 503) + lib.status_count(st, 403) > 0,
          'no 503 or 403 injected: %s' % st)


def test_retry_after_formats(t):
    """429s whose Retry-After is an HTTP date, or missing, are waited out."""
    for fmt in ('date', 'none'):
        sim = t.sim(storm_429=4, retry_after_format=fmt)
        t.write_env(sim)
        db = 'data/%s.db' % fmt
        t.espsync('--store', 'sqlite:' + db, 'sync', expect=0)
        lib.assert_equals_truth(t.db(db), sim.truth(),
                                what='store (Retry-After %s)' % fmt)
        check(lib.status_count(sim.stats(), 429) == 4,
              'storm of 4 gave %d x 429' %
              lib.status_count(sim.stats(), 429))
        sim.stop()


def test_killed_run_resumes(t):
    """SIGKILL in the middle of a sync, then a normal run: the store equals
    the truth, no duplicate events, and work already committed is not
    fetched again in full."""
    import signal
    import subprocess
    import time
    sim = setup(t, latency_ms=150, campaigns=10)
    truth = sim.truth()
    sim.reset_stats()
    env = t.base_env()
    p = subprocess.Popen([lib.ESPSYNC, 'sync'], cwd=t.scratch, env=env,
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
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
    lib.LEAKS.scan_text('%s: killed espsync stdout' % t.name, out)
    lib.LEAKS.scan_text('%s: killed espsync stderr' % t.name, err)
    check(killed, 'the sync finished before 40 requests: cannot kill it '
          'mid-run')
    before_kill = lib.requests_of(sim.stats())
    lib.assert_no_duplicate_events(t.db())
    sim.reset_stats()
    t.sync()
    after = lib.requests_of(sim.stats())
    lib.assert_equals_truth(t.db(), truth, what='store after kill + resume')
    sim.reset_stats()
    t.espsync('--store', 'sqlite:data/full.db', 'sync', expect=0)
    full = lib.requests_of(sim.stats())
    t.note('killed after %d requests, resume %d, full sync %d' %
           (before_kill, after, full))
    check(after < full, 'the run after the kill issued %d requests, a full '
          'sync %d: nothing committed before the kill was reused' %
          (after, full))
