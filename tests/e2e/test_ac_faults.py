"""ActiveCampaign faults, throttling and credentials: every recoverable
fault mode of the simulator still converges to the truth; an inactive
account (402) and rejected keys (v3 401/403, v1 XML not_allowed) stop at
once with the right exit code and a clear message."""

import os

import aclib
import lib
from lib import check


def _converges(t, what, **opts):
    sim = aclib.setup(t, **opts)
    tr = aclib.truth(sim)
    r = aclib.sync(t)
    st = aclib.ac_stats(sim)
    aclib.assert_equals_truth(t.db(), tr, what='store under %s' % what)
    aclib.assert_no_duplicates(t.db())
    t.note('%d requests, %d faults, by_status %s, %.1f s' %
           (st.get('requests', 0), st.get('faults', 0), st.get('by_status'),
            r.elapsed))
    return sim, st


def test_ac_fault_empty_200_and_truncated_json(t):
    sim, st = _converges(t, 'empty 200 bodies and truncated JSON',
                         fault_empty=6, fault_truncate=6, fault_seed=21)
    check(st.get('faults', 0) >= 5, 'only %s faults injected: %s' %
          (st.get('faults'), st))


def test_ac_fault_intermittent_403(t):
    """--ac-fault-403 10: a valid key sometimes gets 403 (half of them
    without Content-Type); the client retries them."""
    sim, st = _converges(t, 'intermittent 403', ac_fault_403=10,
                         fault_seed=22)
    check(aclib.ac_status(sim, 403) >= 3, 'only %d x 403 injected' %
          aclib.ac_status(sim, 403))


def test_ac_fault_5xx_503_drop(t):
    sim, st = _converges(t, '5xx, 503 and dropped connections',
                         fault_5xx=8, fault_503=4, fault_drop=3,
                         fault_seed=23)
    n5 = sum(v for k, v in (st.get('by_status') or {}).items()
             if k.startswith('5'))
    check(n5 >= 5, 'only %d 5xx answers injected: %s' % (n5, st))


def test_ac_throttle_503(t):
    """--ac-throttle-503: over the limit the account answers 503 with
    Retry-After (not 429). The client, pushed above the simulator's 20
    req/s, waits them out and still converges."""
    sim, st = _converges(t, '503 throttling', ac_throttle_503=True,
                         ac_rate=20, ac_burst=2, ac_campaigns=4,
                         ac_contacts=100)
    n503 = aclib.ac_status(sim, 503)
    check(n503 > 0 and aclib.ac_status(sim, 429) == 0,
          'want 503s and no 429 in 503 mode: %s' % st.get('by_status'))
    run = aclib.runs(t.db())[-1]
    check(run['throttled'] == n503, 'sync_runs.throttled %s, the simulator '
          'sent %d throttling 503s' % (run['throttled'], n503))


def test_ac_storm_429_retry_after(t):
    """Eight 429s in a row, Retry-After 1 s each, are waited out."""
    sim, st = _converges(t, 'a 429 storm', storm_429=8)
    check(aclib.ac_status(sim, 429) == 8, 'storm of 8 gave %d x 429' %
          aclib.ac_status(sim, 429))


def test_ac_inactive_account_stops_at_once(t):
    """--ac-inactive: every call is 402. espsync exits non-zero within
    seconds with a message that says the account is inactive, and does not
    retry (at most 3 requests)."""
    sim = aclib.setup(t, ac_inactive=True)
    r = aclib.sync(t, expect=None, timeout=60)
    n = aclib.ac_requests(sim)
    msg = ' '.join(r.err_lines()).lower()
    t.note('exit %d after %.1f s, %d requests: %s' % (
        r.rc, r.elapsed, n, lib.mask(r.err_lines()[-1:] and
                                     r.err_lines()[-1])[:200]))
    check(r.rc not in (0, 2, 3), 'inactive account: want a failure exit '
          '(1 or 4), got %s' % r.describe())
    check('inactive' in msg, 'no "inactive" in the error: %s' %
          r.describe())
    check(n <= 3, '%d requests to an inactive account (402 is permanent): '
          'retry storm' % n)
    check(r.elapsed < 10, 'inactive account took %.1f s to fail' %
          r.elapsed)
    runs = aclib.runs(t.db()) if os.path.exists(t.db()) else []
    check(not runs or runs[-1]['status'] == 'failed',
          'sync_runs status %r after a 402, want failed' %
          (runs[-1]['status'] if runs else None))


def _rejected(t, r, sim, max_requests):
    n = aclib.ac_requests(sim)
    t.note('exit %d after %.1f s, %d requests: %s' % (
        r.rc, r.elapsed, n, lib.mask(r.err_lines()[-1:] and
                                     r.err_lines()[-1])[:200]))
    check(r.rc == 4, 'want exit 4 (credentials rejected), got %s' %
          r.describe())
    msg = ' '.join(r.err_lines()).lower()
    check('activecampaign' in msg and ('key' in msg or 'token' in msg),
          'the error does not name activecampaign and its key: %s' %
          r.describe())
    check(n <= max_requests, '%d requests before giving up on a rejected '
          'key (want at most %d)' % (n, max_requests))


def test_ac_wrong_key_v3_401(t):
    sim = aclib.setup(t, key=lib.AC_WRONG_KEY)
    r = aclib.sync(t, expect=None, timeout=60)
    _rejected(t, r, sim, 3)
    r = t.espsync('check', expect=None)
    check(r.rc == 4 or (r.rc != 0 and 'activecampaign' in r.out.lower()),
          '`check` with a wrong key: %s' % r.describe())


def test_ac_persistent_403_exit_4(t):
    """Every call 403 {"message":"Forbidden"}: a few retries (403 is
    sometimes transient), then exit 4."""
    sim = aclib.setup(t, ac_fault_403=100)
    r = aclib.sync(t, expect=None, timeout=120)
    _rejected(t, r, sim, 12)


def test_ac_v1_not_allowed_exit_4(t):
    """v3 accepts the key, v1 answers HTTP 200 with the XML not_allowed
    page (a proxy swaps the key of v1 requests): exit 4, not a parse
    error, and no retry loop on the v1 page."""
    sim = aclib.sim(t)
    proxy = aclib.V1KeyProxy(sim.url)
    try:
        aclib.write_env(t, proxy)
        r = aclib.sync(t, expect=None, timeout=120)
        v1 = proxy.v1_requests
        queries = list(proxy.v1_queries)
    finally:
        proxy.stop()
    _rejected(t, r, sim, 60)
    again = sorted({q for q in queries if queries.count(q) > 1})
    check(v1 >= 1 and not again, '%d v1 requests with a rejected v1 key, '
          '%d of them repeated (the XML page is an auth error, not a '
          'retryable fault), e.g. %s' % (v1, len(again), again[:1]))
    check(v1 <= 8, '%d v1 requests with a rejected v1 key: more than the '
          '8 that may be in flight when the first answer arrives' % v1)
    msg = ' '.join(r.err_lines()).lower()
    check('parse' not in msg and 'json' not in msg,
          'the v1 XML page is reported as a parse error: %s' %
          r.describe())


def test_ac_v1_newest_first_and_strict_limit(t):
    """An account whose v1 reports default to newest first
    (--ac-v1-desc) and that answers 422 to a limit outside 1..100
    (--ac-limit-422): same store as any other account."""
    sim, st = _converges(t, 'v1 DESC default and strict limit',
                         ac_v1_desc=True, ac_limit_422=True)
    check(aclib.ac_status(sim, 422) == 0, '%d requests with a limit '
          'outside 1..100 (422)' % aclib.ac_status(sim, 422))
