"""A sync's life as cron, systemd and containers see it (issue 10): the
first SIGINT/SIGTERM stops it like --max-runtime (run recorded
interrupted, exit 130/143, one line), a second exits at once, waits wake on
a signal; a SIGKILLed run is never shown as running and the next run marks
it interrupted; one sync per provider account (a second exits 7 naming the
holder or waits with --wait; a dead holder's lease expires) on every store;
events outside the PostgreSQL retention are counted in the summary and
stats."""

import datetime
import os
import signal
import sqlite3
import subprocess
import time

import lib
from lib import check, fail

SIGNALS = {signal.SIGINT: 130, signal.SIGTERM: 143}


# ---------------------------------------------------------------- helpers

class Store:
    """One store of a kind for test t: its URL and its run log."""

    def __init__(self, t, kind):
        self.t = t
        self.kind = kind
        if kind == 'sqlite':
            self.url = 'sqlite:data/espsync.db'
        elif kind == 'postgresql':
            import pgutil
            self.pg = pgutil.cluster()
            self.db = pgutil.new_db(t)
            self.url = self.pg.url(self.db)
        else:
            import mongoutil
            self.srv = mongoutil.start(t)
            self.url = self.srv.url('espsync_lease')

    def runs(self):
        """[(run_id, status, host, pid)] in run order."""
        if self.kind == 'sqlite':
            path = self.t.db()
            if not os.path.exists(path):
                return []
            con = sqlite3.connect(path)
            try:
                return [tuple(r) for r in con.execute(
                    'SELECT run_id, status, host, pid FROM sync_runs '
                    'ORDER BY run_id')]
            except sqlite3.OperationalError:
                return []
            finally:
                con.close()
        if self.kind == 'postgresql':
            rows = self.pg.psql(self.db, 'SELECT run_id, status, host, pid '
                                'FROM sync_runs ORDER BY run_id',
                                check_rc=False)
            return [tuple(r.split('\x1f')) for r in rows]
        docs = self.srv.client().find('espsync_lease', 'sync_runs')
        return sorted((d.get('run_id'), d.get('status'), d.get('host'),
                       d.get('pid')) for d in docs)


def start(t, *args, env=None):
    e = t.base_env()
    if env:
        e.update(env)
    return subprocess.Popen([lib.ESPSYNC] + list(args), cwd=t.scratch,
                            env=e, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finish(t, p, what, timeout=60):
    try:
        out, err = p.communicate(timeout=timeout * lib.TIMEOUT_SCALE)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        fail('%s did not end within %ss' % (what, timeout))
    out = out.decode('utf-8', 'replace')
    err = err.decode('utf-8', 'replace')
    lib.LEAKS.scan_text('%s: %s stdout' % (t.name, what), out)
    lib.LEAKS.scan_text('%s: %s stderr' % (t.name, what), err)
    if 'AddressSanitizer' in err or 'runtime error:' in err:
        fail('sanitizer report from %s' % what, err.splitlines()[:10])
    return p.returncode, out, err


def wait_requests(sim, p, n, what='the sync'):
    deadline = time.monotonic() + 60 * lib.TIMEOUT_SCALE
    while time.monotonic() < deadline and p.poll() is None:
        if lib.requests_of(sim.stats()) >= n:
            return
        time.sleep(0.05)
    check(p.poll() is None, '%s ended before %d requests' % (what, n))
    fail('%s made fewer than %d requests in 60s' % (what, n))


def wait_lease(store, p):
    """Until the running sync has recorded its run (it holds the lease
    from before its first request)."""
    deadline = time.monotonic() + 30 * lib.TIMEOUT_SCALE
    while time.monotonic() < deadline and p.poll() is None:
        if any(r[1] == 'running' for r in store.runs()):
            return
        time.sleep(0.05)
    fail('the first sync recorded no running run')


def kill_run(t, p, sig):
    p.send_signal(sig)
    t0 = time.monotonic()
    rc, out, err = finish(t, p, 'espsync sync (signalled)')
    return rc, out, err, time.monotonic() - t0


# ---------------------------------------------------------------- signals

def signal_trial(t, sig, *extra):
    """A sync signalled mid-run: the exit code, one line naming the signal,
    the run recorded interrupted, no duplicate; a re-run completes the
    store to the truth."""
    sim = t.sim(latency_ms=150, campaigns=10)
    t.write_env(sim)
    truth = sim.truth()
    p = start(t, 'sync', *extra)
    wait_requests(sim, p, 30)
    rc, out, err, took = kill_run(t, p, sig)
    name = signal.Signals(sig).name
    check(rc == SIGNALS[sig], '%s gave exit %s, expected %d: %s' % (
        name, rc, SIGNALS[sig], err.strip()[-300:]))
    lines = [ln for ln in err.splitlines() if name in ln]
    check(len(lines) == 1 and 'state saved' in lines[0],
          'expected one line naming %s and the saved state on stderr, got '
          '%r' % (name, lines))
    check(took < 6 * lib.TIMEOUT_SCALE, 'the sync took %.1fs to stop after '
          '%s' % (took, name))
    con = lib.connect(t.db())
    status = [r[0] for r in con.execute(
        'SELECT status FROM sync_runs ORDER BY run_id')]
    con.close()
    check(status == ['interrupted'], 'runs after %s: %s' % (name, status))
    lib.assert_no_duplicate_events(t.db())
    t.sync()
    lib.assert_equals_truth(t.db(), truth, what='store after %s + resume'
                            % name)
    return out


def test_sigterm_stops_like_max_runtime(t):
    signal_trial(t, signal.SIGTERM)


def test_sigint_json_summary(t):
    out = signal_trial(t, signal.SIGINT, '--json')
    s = lib.Result([], 0, out, '', 0).summary()
    check(s.get('status') == 'interrupted' and s.get('exit_code') == 130,
          'json summary after SIGINT: status %r exit_code %r' %
          (s.get('status'), s.get('exit_code')))


def test_signal_wakes_backoff(t):
    """Every answer a 500: the sync sleeps in backoff; SIGTERM ends it
    within moments, nothing recorded as running."""
    sim = t.sim(fault_5xx=100)
    t.write_env(sim)
    p = start(t, 'sync')
    wait_requests(sim, p, 3)
    time.sleep(1.0)
    rc, out, err, took = kill_run(t, p, signal.SIGTERM)
    check(rc == 143, 'exit %s after SIGTERM in backoff: %s' % (
        rc, err.strip()[-200:]))
    check(took < 3 * lib.TIMEOUT_SCALE, 'SIGTERM during backoff took %.1fs'
          % took)
    check('SIGTERM' in err, 'no line names SIGTERM: %r' % err[-300:])


def test_second_signal_exits_at_once(t):
    sim = t.sim(latency_ms=4000)
    t.write_env(sim)
    p = start(t, 'sync')
    wait_requests(sim, p, 1)
    p.send_signal(signal.SIGTERM)
    time.sleep(0.2)
    rc, out, err, took = kill_run(t, p, signal.SIGTERM)
    check(rc == 143, 'exit %s after two SIGTERMs' % rc)
    check(took < 1.0 * lib.TIMEOUT_SCALE, 'the second SIGTERM took %.1fs'
          % took)
    check('stopping at once' in err, 'no "stopping at once": %r' % err)


# ---------------------------------------------------------------- stale runs

def test_killed_run_is_never_running(t):
    """SIGKILL mid-run: stats and state show the run interrupted at once,
    and the next sync records it so."""
    sim = t.sim(latency_ms=150, campaigns=10)
    t.write_env(sim)
    truth = sim.truth()
    p = start(t, 'sync')
    wait_requests(sim, p, 30)
    p.send_signal(signal.SIGKILL)
    finish(t, p, 'killed espsync sync')
    r = t.espsync('stats', expect=0)
    check('running' not in r.out and 'interrupted' in r.out,
          'stats after SIGKILL: %r' % [ln for ln in r.out.splitlines()
                                       if 'Last run' in ln])
    s = t.espsync('stats', '--json', expect=0).summary()
    check(s['last_run']['status'] == 'interrupted', 'stats --json last run '
          '%s' % s['last_run']['status'])
    r = t.espsync('state', 'show', expect=0)
    check('running' not in r.out, 'state show after SIGKILL says running')
    t.sync()
    con = lib.connect(t.db())
    rows = [tuple(r) for r in con.execute(
        'SELECT status, finished_at IS NOT NULL, error FROM sync_runs '
        'ORDER BY run_id')]
    con.close()
    check([r[0] for r in rows] == ['interrupted', 'complete'] and rows[0][1],
          'runs after kill + sync: %s' % rows)
    lib.assert_equals_truth(t.db(), truth, what='store after kill + sync')


# ---------------------------------------------------------------- lease

def lease_trial(t, kind):
    sim = t.sim(campaigns=2, contacts=10, lists=1, latency_ms=400)
    t.write_env(sim)
    store = Store(t, kind)
    first = start(t, '--store', store.url, 'sync')
    wait_lease(store, first)
    r = t.espsync('--store', store.url, 'sync', expect=7)
    lines = r.err_lines()
    check(len(lines) == 1, 'busy: expected one line on stderr, got %r' %
          lines)
    line = lines[0]
    for want in ('another sync', 'pid %d' % first.pid, 'since',
                 'host', '--wait'):
        check(want in line, 'busy line lacks %r: %r' % (want, line))
    second = start(t, '--store', store.url, 'sync', '--wait', '120s')
    rc1, _, err1 = finish(t, first, 'first sync', timeout=120)
    rc2, out2, err2 = finish(t, second, 'sync --wait', timeout=120)
    check(rc1 == 0, 'first sync exit %s: %s' % (rc1, err1[-300:]))
    check(rc2 == 0, 'sync --wait exit %s: %s' % (rc2, err2[-300:]))
    runs = store.runs()
    check([r[1] for r in runs] == ['complete', 'complete'],
          'runs: %s' % runs)
    check(int(runs[0][3]) == first.pid and int(runs[1][3]) == second.pid,
          'run pids %s, processes %d, %d' % (
              [r[3] for r in runs], first.pid, second.pid))


def dead_holder_trial(t, kind):
    sim = t.sim(campaigns=2, contacts=10, lists=1, latency_ms=400)
    t.write_env(sim)
    store = Store(t, kind)
    first = start(t, '--store', store.url, 'sync')
    wait_lease(store, first)
    first.send_signal(signal.SIGKILL)
    finish(t, first, 'killed sync')
    t0 = time.monotonic()
    r = t.espsync('--store', store.url, 'sync', expect=0)
    check(time.monotonic() - t0 < 60, 'the sync after a killed holder '
          'took %.0fs' % (time.monotonic() - t0))
    runs = store.runs()
    check([x[1] for x in runs] == ['interrupted', 'complete'],
          'runs after a killed holder: %s (%s)' % (runs, r.err[-200:]))


def test_lease_sqlite(t):
    lease_trial(t, 'sqlite')


def test_lease_postgresql(t):
    lease_trial(t, 'postgresql')


def test_lease_mongodb(t):
    lease_trial(t, 'mongodb')


def test_lease_dead_holder_sqlite(t):
    dead_holder_trial(t, 'sqlite')


def test_lease_dead_holder_postgresql(t):
    dead_holder_trial(t, 'postgresql')


def test_lease_dead_holder_mongodb(t):
    dead_holder_trial(t, 'mongodb')


# ---------------------------------------------------------------- retention

def test_pg_retention_is_reported(t):
    """Events older than ESPSYNC_RETENTION_DAYS are counted in the summary
    (text and --json) and in stats, with the way to keep them."""
    import pgutil
    sim = t.sim()
    t.write_env(sim)
    c = pgutil.cluster()
    db = pgutil.new_db(t)
    truth = sim.truth()
    events = sorted(e[3][:10] for e in lib.truth_events(truth))
    today = datetime.datetime.now(datetime.timezone.utc).date()
    cut = datetime.date.fromisoformat(events[len(events) // 2])
    keep = (today - cut).days
    old = len([d for d in events if d < cut.isoformat()])
    env = {'ESPSYNC_RETENTION_DAYS': str(keep)}
    r = t.espsync('--store', c.url(db), 'sync', '--json', env=env,
                  expect=0)
    got = r.summary()['providers'][0].get('events_outside_retention')
    check(got == old, 'summary: %s events outside the retention, %d are '
          'older than %s' % (got, old, cut))
    stored = int(c.scalar(db, 'SELECT count(*) FROM email_activities'))
    check(stored + old == len(events), '%d stored + %d outside != %d' % (
        stored, old, len(events)))
    db2 = pgutil.new_db(t)
    r = t.espsync('--store', c.url(db2), 'sync', env=env, expect=0)
    check('%d events older than' % old in r.out and
          'ESPSYNC_RETENTION_DAYS=0' in r.out,
          'text summary does not report the retention: %r' % r.out)
    r = t.espsync('--store', c.url(db2), 'stats', env=env, expect=0)
    check('Outside retention' in r.out and 'ESPSYNC_RETENTION_DAYS=0' in
          r.out, 'stats does not report the retention: %r' % r.out)
    s = t.espsync('--store', c.url(db2), 'stats', '--json', env=env,
                  expect=0).summary()
    check(s.get('events_outside_retention') == old,
          'stats --json events_outside_retention %r, expected %d' %
          (s.get('events_outside_retention'), old))
