"""Mailchimp faults, throttling and credentials: every fault mode of the
simulator still converges to the truth; the connection limit answered with
429 problem documents, bodiless 429s or bodiless 403s (more requests than
the account allows) slows espsync down without losing data; a bad key, a
key of another data center (401 or 403 WrongDatacenter) and a missing key
exit 4 with the problem document's title/detail and no key in the
output."""

import os

import lib
import mclib
from lib import check


def _converges(t, what, **opts):
    sim = mclib.setup(t, **opts)
    tr = mclib.truth(sim)
    r = mclib.sync(t)
    st = mclib.stats(sim)
    mclib.assert_equals_truth(t.db(), tr, what='store under %s' % what)
    mclib.assert_no_duplicates(t.db())
    t.note('%d requests, %d faults, by_status %s, %.1f s' %
           (st.get('requests', 0), st.get('faults', 0), st.get('by_status'),
            r.elapsed))
    return sim, st


def test_mc_fault_empty_200_and_truncated_json(t):
    sim, st = _converges(t, 'empty 200 bodies and truncated JSON',
                         fault_empty=6, fault_truncate=6, fault_seed=31)
    check(st.get('faults', 0) >= 3, 'only %s faults injected: %s' %
          (st.get('faults'), st))


def test_mc_fault_5xx_503_drop_slow(t):
    sim, st = _converges(t, '500, 503, dropped connections and slow '
                         'answers', fault_5xx=8, fault_503=4, fault_drop=3,
                         fault_slow=5, slow_ms=400, fault_seed=32)
    n5 = sum(v for k, v in (st.get('by_status') or {}).items()
             if k.startswith('5'))
    check(n5 >= 3, 'only %d 5xx answers injected: %s' % (n5, st))


def test_mc_fault_bodiless_403(t):
    """Injected 403s without a body (Mailchimp's overload answer) are
    retried like throttling."""
    sim, st = _converges(t, 'bodiless 403', fault_403=8, fault_seed=33)
    check(mclib.status(sim, 403) >= 2, 'only %d x 403 injected' %
          mclib.status(sim, 403))


def test_mc_connection_limit_every_throttle_form(t):
    """The account allows 3 simultaneous connections while espsync opens 6
    (at 40 ms per answer): the overflow gets the 429 problem document, a
    bodiless 429, a bodiless 403, or the three in turn. Each sync converges
    to the truth; none sends Retry-After, none is needed."""
    notes = []
    for mode in ('json', 'bare429', 'bare403', 'mixed'):
        sim = mclib.setup(t, mc_connections=3, mc_latency_ms=40,
                          mc_throttle=mode)
        tr = mclib.truth(sim)
        r = mclib.sync(t, '--store', 'sqlite:data/%s.db' % mode)
        mclib.assert_equals_truth(t.path('data/%s.db' % mode), tr,
                                  what='store under %s throttling' % mode)
        st = mclib.stats(sim)
        thr = st.get('throttled', 0)
        check(thr > 0, '%s: espsync at 6 connections was never throttled '
              'by an account allowing 3: %s' % (mode, st))
        notes.append('%s: %d throttled of %d, %.1f s' % (
            mode, thr, st.get('requests', 0), r.elapsed))
        sim.stop()
    t.note('; '.join(notes))


def _rejected(t, sim, key, what, status, words):
    mclib.write_env(t, sim, key=key)
    sim.reset_stats()
    r = mclib.sync(t, expect=4)
    text = (r.out + r.err).lower()
    missing = [w for w in words if w.lower() not in text]
    check(not missing, '%s: the message lacks %s: %s' % (
        what, missing, lib.mask(r.describe())))
    check(mclib.status(sim, status) >= 1, '%s: the simulator answered no '
          '%d: %s' % (what, status, mclib.stats(sim)))
    check(mclib.requests(sim) <= 3, '%s: %d requests after a rejected key' %
          (what, mclib.requests(sim)))
    con = lib.connect(t.db()) if os.path.exists(t.db()) else None
    if con:
        try:
            n = con.execute('SELECT count(*) FROM campaigns WHERE provider '
                            '= ?', (mclib.PROVIDER,)).fetchone()[0]
        finally:
            con.close()
        check(n == 0, '%s: %d campaigns stored' % (what, n))
    return r


def test_mc_wrong_key_and_wrong_data_center_exit_4(t):
    sim = mclib.sim(t)
    notes = []
    r = _rejected(t, sim, mclib.WRONG_KEY, 'wrong key', 401,
                  ('API Key Invalid',))
    notes.append(r.err_lines()[-1:])
    r = _rejected(t, sim, mclib.WRONG_DC_KEY, 'key of data center us7',
                  401, ('API Key Invalid', 'datacenter'))
    notes.append(r.err_lines()[-1:])
    mclib.control(sim, wrong_dc_403=1)
    r = _rejected(t, sim, mclib.WRONG_DC_KEY, 'key of data center us7 '
                  '(403 variant)', 403, ('Wrong Datacenter',))
    notes.append(r.err_lines()[-1:])
    mclib.control(sim, wrong_dc_403=0, disabled=1)
    r = _rejected(t, sim, mclib.KEY, 'disabled account', 403,
                  ('User Disabled',))
    notes.append(r.err_lines()[-1:])
    t.note(lib.mask(repr(notes))[:600])


def test_mc_missing_key_exit_4(t):
    """No MAILCHIMP_API_KEY at all for an explicit --provider mailchimp:
    refused before any request (exit 2 as for the other providers, or 4)."""
    sim = mclib.sim(t)
    mclib.write_env(t, sim, key=None)
    r = mclib.sync(t, expect=None)
    check(r.rc in (2, 4), 'want exit 4 (or 2 for a usage error), got %s' %
          r.describe())
    check(mclib.requests(sim) == 0, '%d requests without a key' %
          mclib.requests(sim))
