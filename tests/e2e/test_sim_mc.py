"""The simulated Mailchimp API itself (no espsync): the quirks of the
reference's §7.5 that the client tests rely on."""

import base64
import json
import threading
import urllib.error
import urllib.request

import lib
import mclib
from lib import check


def _get(sim, path, key=mclib.KEY, scheme='basic'):
    req = urllib.request.Request(sim.url + '/3.0' + path)
    if scheme == 'basic':
        tok = base64.b64encode(('anystring:' + key).encode()).decode()
        req.add_header('Authorization', 'Basic ' + tok)
    elif scheme:
        req.add_header('Authorization', '%s %s' % (scheme, key))
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def _json(sim, path, **kw):
    st, h, body = _get(sim, path, **kw)
    check(st == 200, 'GET %s: %d %r' % (path, st, body[:200]))
    return json.loads(body)


def test_sim_mc_paging_filters_and_shapes(t):
    sim = mclib.sim(t, mc_contacts=1300)
    lid = _json(sim, '/lists')['lists'][0]['id']
    big = _json(sim, '/lists/%s/members?count=5000' % lid)
    check(len(big['members']) == 1000 and big['total_items'] > 1000,
          'count=5000: %d rows of %d (want the silent cap of 1000)' %
          (len(big['members']), big['total_items']))
    check(len(_json(sim, '/lists/%s/members' % lid)['members']) == 10,
          'default count is not 10')
    past = _json(sim, '/lists/%s/members?offset=99999' % lid)
    check(past['members'] == [] and past['total_items'] ==
          big['total_items'], 'offset past the end: %s' %
          {k: v for k, v in past.items() if k != '_links'})
    check(all(m['status'] != 'archived' for m in big['members']),
          'archived members in the unfiltered list')
    arch = _json(sim, '/lists/%s/members?status=archived&count=1000' % lid)
    check(arch['members'] and all(m['status'] == 'archived'
                                  for m in arch['members']),
          'status=archived gives %d rows' % len(arch['members']))
    check(all(len(m['tags']) <= 50 for m in big['members']) and
          any(m['tags_count'] > 50 for m in big['members']),
          'tags not capped at 50 or no member past 50')
    # since_ exclusive, before_ inclusive, on a shared second
    tr = mclib.truth(sim)
    lc = sorted(m['last_changed'] for m in tr['members']
                if m['list_id'] == lid and not m['deleted'] and
                m['status'] != 'archived')
    t0 = lc[0]
    n_eq = lc.count(t0)
    check(n_eq > 1, 'no bulk import second shared by several members')
    q = '/lists/%s/members?count=1000&%s_last_changed=%s'
    at = _json(sim, q % (lid, 'before', t0))['total_items']
    after = _json(sim, q % (lid, 'since', t0))['total_items']
    check(at == n_eq and after == len(lc) - n_eq, 'before_=%s gives %d (want '
          '%d, inclusive), since_ gives %d (want %d, exclusive)' %
          (t0, at, n_eq, after, len(lc) - n_eq))
    st, h, body = _get(sim, '/lists/%s/members?since_last_changed='
                       '2025-01-01T00:00:00%%2B0000' % lid)
    check(st == 500, 'encoded +0000: %d, want 500' % st)
    # "" for unset times; envelopes with _links
    camps = _json(sim, '/campaigns?count=1000')
    drafts = [c for c in camps['campaigns'] if c['status'] == 'save']
    check(drafts and all(c['send_time'] == '' for c in drafts),
          'drafts without send_time ""')
    check('_links' in camps and 'total_items' in camps,
          'campaigns envelope %s' % sorted(camps))
    rep = _json(sim, '/reports?count=1000&fields=reports.id,'
                'reports.opens.last_open,total_items')
    check(set(rep) == {'reports', 'total_items'} and
          all(set(r) == {'id', 'opens'} and set(r['opens']) == {'last_open'}
              for r in rep['reports']), 'fields= projection: %s' %
          json.dumps(rep)[:300])
    cid = rep['reports'][0]['id']
    ea = _json(sim, '/reports/%s/email-activity?count=1000&since=%s' %
               (cid, tr['now']))
    check(ea['total_items'] == len(ea['emails']) and ea['emails'] and
          all(e['activity'] == [] for e in ea['emails']),
          'email-activity since now: rows must all stay, arrays empty')


def test_sim_mc_errors_and_throttle(t):
    sim = mclib.sim(t, mc_connections=2, mc_latency_ms=300,
                    mc_throttle='bare403')
    st, h, body = _get(sim, '/ping', key=mclib.WRONG_DC_KEY)
    doc = json.loads(body)
    check(st == 401 and doc['title'] == 'API Key Invalid' and
          'datacenter' in doc['detail'] and
          h.get('Content-Type', '').startswith('application/problem+json')
          and h.get('X-Request-Id') == doc['instance'],
          'wrong data center: %d %s %s' % (st, h, doc))
    st, h, body = _get(sim, '/ping', scheme=None)
    check(st == 401 and json.loads(body)['title'] == 'API Key Missing',
          'missing key: %d %r' % (st, body))
    for scheme in ('apikey', 'Bearer', 'OAuth'):
        st, h, body = _get(sim, '/ping', scheme=scheme,
                           key=mclib.KEY if scheme == 'apikey'
                           else lib.MC_KEY_STEM)
        check(st == 200, '%s scheme: %d' % (scheme, st))
    got = []

    def one():
        got.append(_get(sim, '/ping')[:3:2])

    sim.reset_stats()
    th = [threading.Thread(target=one) for _ in range(5)]
    for x in th:
        x.start()
    for x in th:
        x.join()
    codes = sorted(c for c, _ in got)
    check(codes.count(403) >= 1 and all(b == b'' for c, b in got
                                        if c == 403),
          'five at once against 2 connections: %s' % got)
    check(mclib.peak(sim) >= 3, 'peak %d' % mclib.peak(sim))
    t.note('statuses %s, peak %d' % (codes, mclib.peak(sim)))
