"""The simulated ActiveCampaign API itself, over HTTP (no espsync): auth,
rate limit headers, string typing, offset and id_greater paging, v1 report
envelopes and end markers, account time zone across DST, fault switches,
time advance and the ground truth at /_sim/truth?provider=activecampaign."""

import datetime
import json
import time
import urllib.error
import urllib.parse
import urllib.request
import zoneinfo

import lib
from lib import check, fail

AC_KEY = 'sim-ac-key-test-51d0'
FAST = {'ac_key': AC_KEY, 'ac_rate': 1000, 'ac_burst': 1000,
        'ac_campaigns': 6, 'ac_contacts': 150}
CHICAGO = zoneinfo.ZoneInfo('America/Chicago')
DST_END = '2025-11-02T07:00:00Z'


def req(sim, path, params=None, key=AC_KEY, header=True, method='GET'):
    """(status, headers dict lowercased, body bytes)."""
    url = sim.url + path
    if params:
        url += '?' + urllib.parse.urlencode(params)
    r = urllib.request.Request(url, method=method,
                               data=b'' if method == 'POST' else None)
    if key is not None and header:
        r.add_header('Api-Token', key)
    try:
        with urllib.request.urlopen(r, timeout=30 * lib.TIMEOUT_SCALE) as f:
            return f.status, {k.lower(): v for k, v in f.headers.items()}, \
                f.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def get_json(sim, path, params=None, **kw):
    st, _, body = req(sim, path, params, **kw)
    check(st == 200, '%s: HTTP %d %r' % (path, st, body[:200]))
    try:
        return json.loads(body)
    except ValueError:
        fail('%s: not JSON: %r' % (path, body[:200]))


def v1(sim, action, campaign, page, **extra):
    p = {'api_action': action, 'api_key': AC_KEY, 'api_output': 'json',
         'campaignid': campaign, 'page': page}
    p.update(extra)
    return get_json(sim, '/admin/api.php', p, key=None)


def v1_rows(sim, action, campaign, **extra):
    rows, page = [], 1
    while True:
        d = v1(sim, action, campaign, page, **extra)
        if d.get('result_code') == 0:
            check(d.get('result_message') == 'Failed: Nothing is returned',
                  'v1 end marker: %r' % d)
            return rows
        check(d.get('result_code') == 1 and d.get('result_output') == 'json',
              'v1 envelope: %r' % {k: d[k] for k in d if not k.isdigit()})
        keys = sorted((k for k in d if k.isdigit()), key=int)
        check(keys == [str(i) for i in range(len(keys))] and
              0 < len(keys) <= 20, 'v1 page keys %r' % keys)
        check(len(keys) == 20 or action == 'campaign_report_link_list' or
              v1(sim, action, campaign, page + 1, **extra)['result_code'] == 0,
              'short v1 page is not the last')
        rows += [d[k] for k in keys]
        page += 1


def truth(sim):
    return sim._req('GET', '/_sim/truth', {'provider': 'activecampaign'})


def z(dt):
    return dt.astimezone(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def from_naive(s):
    d = datetime.datetime.strptime(s, '%Y-%m-%d %H:%M:%S')
    return z(d.replace(tzinfo=CHICAGO))


def from_date(s):
    d = datetime.datetime.strptime(s, '%Y-%m-%d')
    return z(d.replace(tzinfo=CHICAGO))


def api_events(sim, naive=False):
    """Every v1 report row as a truth-shaped tuple."""
    out = set()
    camps = get_json(sim, '/api/3/campaigns', {'limit': 100})['campaigns']
    for c in camps:
        cid = c['id']
        for r in v1_rows(sim, 'campaign_report_open_list', cid):
            at = from_naive(r['tstamp']) if naive else lib.utc(
                r['tstamp_iso'])
            out.add((cid, r['subscriberid'], 'open', at, int(r['times']),
                     None, None))
        for r in v1_rows(sim, 'campaign_report_unsubscription_list', cid):
            at = from_naive(r['tstamp']) if naive else lib.utc(
                r['tstamp_iso'])
            out.add((cid, r['subscriberid'], 'unsubscribe', at, 1, None,
                     None))
        for r in v1_rows(sim, 'campaign_report_bounce_list', cid):
            check(r['campaignid'] == cid, 'bounce row campaignid')
            out.add((cid, r['subscriberid'], 'bounce', from_date(r['tstamp']),
                     1, None, r['type']))
        for link in v1_rows(sim, 'campaign_report_link_list', cid):
            for r in link['info']:
                at = from_naive(r['tstamp']) if naive else lib.utc(
                    r['tstamp_iso'])
                out.add((cid, r['subscriberid'], 'click', at,
                         int(r['times']), link['link'], None))
    return out


def truth_events(t):
    return {(e['campaign_id'], e['contact_id'], e['type'], e['occurred_at'],
             e['times'], e['link_url'], e['bounce_type'])
            for e in t['events']}


def test_ac_auth_types_and_headers(t):
    sim = t.sim(**FAST)
    st, h, body = req(sim, '/api/3/campaigns', key='wrong')
    check(st == 401 and json.loads(body).get('message'),
          'wrong key: %d %r' % (st, body))
    st, _, body = req(sim, '/api/3/users/me', key=None)
    check(st == 401, 'missing key: %d' % st)
    st, h, body = req(sim, '/admin/api.php',
                      {'api_action': 'campaign_report_open_list',
                       'api_key': 'wrong', 'api_output': 'json',
                       'campaignid': '1'}, key=None)
    check(st == 200 and body.startswith(b'<?xml') and b'<not_allowed>' in body,
          'v1 bad key: %d %r' % (st, body[:120]))
    st, h, body = req(sim, '/api/3/campaigns', {'limit': 2})
    check(st == 200, 'campaigns: %d' % st)
    check(h.get('ratelimit-limit') == '1000' and 'ratelimit-remaining' in h,
          'rate headers: %r' % h)
    d = json.loads(body)
    check(isinstance(d['meta']['total'], str) and d['meta']['total'] == '6',
          'meta.total %r' % d['meta'])
    check(len(d['campaigns']) == 2, 'limit 2 gave %d' % len(d['campaigns']))
    c = d['campaigns'][0]
    for k in ('id', 'send_amt', 'opens', 'uniqueopens', 'linkclicks',
              'uniquelinkclicks', 'hardbounces', 'softbounces',
              'unsubscribes'):
        check(isinstance(c[k], str) and c[k].isdigit(), '%s=%r' % (k, c[k]))
    all_c = get_json(sim, '/api/3/campaigns', {'limit': 500})['campaigns']
    check(len(all_c) == 6, 'limit clamps to 100, got %d' % len(all_c))
    drafts = [c for c in all_c if c['status'] == '0']
    check(drafts and all(c['sdate'] in (None, '0000-00-00 00:00:00')
                         for c in drafts), 'draft sdate %r' %
          [c['sdate'] for c in drafts])
    d = get_json(sim, '/api/3/contacts', {'offset': 140})
    check(len(d['contacts']) == int(d['meta']['total']) - 140 and
          d['meta']['page_input']['offset'] == 140, 'contacts offset page')
    st, _, body = req(sim, '/api/3/campaigns/999999')
    check(st == 404 and b'No Result found for Campaign' in body,
          'campaign 404 %r' % body)


def test_ac_rate_limit_default(t):
    sim = t.sim(ac_key=AC_KEY, ac_campaigns=2, ac_contacts=20)
    codes, ra = [], None
    for _ in range(4):
        st, h, _ = req(sim, '/api/3/users/me')
        codes.append(st)
        if st == 429:
            ra = h
    check(codes[0] == 200 and 429 in codes, 'no burst: %r' % codes)
    check(ra.get('retry-after', '').isdigit() and
          ra.get('ratelimit-limit') == '5' and
          ra.get('ratelimit-remaining') == '0', '429 headers %r' % ra)
    time.sleep(0.25)
    st, _, _ = req(sim, '/admin/api.php', {'api_action': 'x',
                                           'api_output': 'json'})
    check(st == 200, 'v1 after 250 ms: %d' % st)
    st, _, _ = req(sim, '/api/3/users/me')
    check(st == 429, 'v1 and v3 share one bucket: %d' % st)
    s = sim.stats()['by_provider']['activecampaign']
    check(s['throttled'] >= 2 and s['requests'] == 6, 'stats %r' % s)
    sim.faults(ac_rate=0.5, ac_burst=1)
    req(sim, '/api/3/users/me')
    sim._req('POST', '/_sim/ac', {'throttle_503': 1})
    st, h, _ = req(sim, '/api/3/users/me')
    check(st == 503 and 'retry-after' in h, '503 mode: %d %r' % (st, h))


def test_ac_v1_reports_equal_truth(t):
    sim = t.sim(**FAST)
    tr = truth(sim)
    got, want = api_events(sim), truth_events(tr)
    check(got == want, 'v1 rows differ from truth: %d missing, %d extra' %
          (len(want - got), len(got - want)),
          [str(x) for x in list(want - got)[:3] + list(got - want)[:3]])
    types = {e[2] for e in want}
    check(types == {'open', 'click', 'bounce', 'unsubscribe'},
          'event types %r' % types)
    for c in tr['campaigns']:
        if c['is_draft']:
            continue
        d = get_json(sim, '/api/3/campaigns/%s' % c['id'])['campaign']
        for k in ('opens', 'uniqueopens', 'linkclicks', 'uniquelinkclicks',
                  'hardbounces', 'softbounces', 'unsubscribes', 'send_amt'):
            check(int(d[k]) == c[k], 'campaign %s %s' % (c['id'], k))
        ev = [e for e in tr['events'] if e['campaign_id'] == c['id']]
        check(c['uniqueopens'] == sum(e['type'] == 'open' for e in ev),
              'uniqueopens vs rows')
    asc = v1(sim, 'campaign_report_open_list', '1', 1)
    desc = v1(sim, 'campaign_report_open_list', '1', 1,
              sort_direction='DESC')
    check(asc['0']['tstamp'] <= desc['0']['tstamp'], 'sort_direction')


def test_ac_naive_timestamps_across_dst(t):
    sim = t.sim(ac_naive=True, ac_timezone='America/Chicago', **FAST)
    tr = truth(sim)
    at = [e['occurred_at'] for e in tr['events'] if e['type'] != 'bounce']
    check(any(a < DST_END for a in at) and any(a > DST_END for a in at),
          'events do not span the 2025-11-02 DST change')
    day = [a for a in at if '2025-11-01T12' <= a <= '2025-11-03T12']
    check(len(day) >= 3, 'few events around the DST change: %d' % len(day))
    r = v1(sim, 'campaign_report_open_list', tr['campaigns'][0]['id'], 1)
    check('tstamp_iso' not in r['0'], '--ac-naive still sends tstamp_iso')
    got, want = api_events(sim, naive=True), truth_events(tr)
    check(got == want, 'naive Chicago rows differ from truth: %d/%d' %
          (len(want - got), len(got - want)),
          [str(x) for x in list(want - got)[:3]])


def contacts_by_keyset(sim, **extra):
    out, last = {}, 0
    while True:
        p = {'orders[id]': 'ASC', 'id_greater': last, 'limit': 100,
             'include': 'contactLists,contactTags,fieldValues'}
        p.update(extra)
        d = get_json(sim, '/api/3/contacts', p)
        tags = {}
        for ct in d.get('contactTags', []):
            tags.setdefault(ct['contact'], set()).add(ct['tag'])
        lists = {}
        for cl in d.get('contactLists', []):
            lists.setdefault(cl['contact'], set()).add(
                (cl['list'], cl['status']))
        fv = {}
        for f in d.get('fieldValues', []):
            fv.setdefault(f['contact'], {})[f['field']] = f['value']
        for c in d['contacts']:
            check(int(c['id']) > last, 'id_greater order')
            last = int(c['id'])
            out[c['id']] = (c['email'], c['firstName'], c['lastName'],
                            c['phone'], tags.get(c['id'], set()),
                            lists.get(c['id'], set()), fv.get(c['id'], {}))
        if len(d['contacts']) < 100:
            return out


def truth_contacts(tr):
    tag_id = {x['tag']: x['id'] for x in tr['tags']}
    field_id = {x['title']: x['id'] for x in tr['fields']}
    return {c['id']: (c['email'], c['first_name'], c['last_name'],
                      c['phone'], {tag_id[x] for x in c['tags']},
                      {(x['id'], x['status']) for x in c['lists']},
                      {field_id[k]: v for k, v in c['fields'].items()})
            for c in tr['contacts'] if not c['deleted']}


def test_ac_contacts_keyset_equals_truth(t):
    sim = t.sim(**FAST)
    got, want = contacts_by_keyset(sim), truth_contacts(truth(sim))
    check(got == want, 'contacts differ: %d vs %d' % (len(got), len(want)),
          [k for k in want if got.get(k) != want[k]][:5])
    one = sorted(want)[3]
    d = get_json(sim, '/api/3/contacts/%s' % one)
    check(d['contact']['id'] == one and 'contactLists' in d,
          'contact by id')


def test_ac_advance_late_events_and_contact_changes(t):
    sim = t.sim(**FAST)
    before = truth(sim)
    old_now = before['now']
    adv = sim.advance(7200)
    check('activecampaign' in adv and adv['activecampaign']['new_events'] >= 1,
          'advance answer %r' % adv)
    check(adv.get('now', '').startswith('2026-01-15T14:00'),
          'default advance answer is still EmailOctopus: %r' % adv)
    after = truth(sim)
    new = truth_events(after) - truth_events(before)
    check(any(e[3] < old_now for e in new),
          'no new event timestamped before the advance start')
    check(truth_events(before) <= truth_events(after), 'events vanished')
    got = api_events(sim)
    check(got == truth_events(after), 'v1 after advance differs from truth')
    deleted = [c['id'] for c in after['contacts'] if c['deleted']]
    check(deleted, 'advance of 2 h deleted no contact')
    st, _, body = req(sim, '/api/3/contacts/%s' % deleted[0])
    check(st == 404 and b'Subscriber' in body, 'deleted contact: %d' % st)
    changed = {c['id'] for c in after['contacts']
               if not c['deleted'] and c['updated_at'] > old_now}
    check(changed, 'no contact changed')
    since = contacts_by_keyset(sim, **{'filters[updated_after]':
                                       old_now.replace('Z', '+00:00')})
    check(set(since) == changed, 'updated_after: %r vs %r' %
          (sorted(since), sorted(changed)))
    check(contacts_by_keyset(sim) == truth_contacts(after),
          'contacts after advance differ from truth')


def test_ac_fault_switches(t):
    sim = t.sim(**FAST)
    sim._req('POST', '/_sim/ac', {'inactive': 1})
    st, _, _ = req(sim, '/api/3/users/me')
    check(st == 402, 'inactive: %d' % st)
    sim._req('POST', '/_sim/ac', {'inactive': 0, 'fault_403': 100})
    seen = [req(sim, '/api/3/users/me')[:2] for _ in range(4)]
    check(all(s == 403 for s, _ in seen), '403 mode %r' % seen)
    check(any('content-type' not in h for _, h in seen) and
          any('content-type' in h for _, h in seen),
          '403 with and without Content-Type')
    sim._req('POST', '/_sim/ac', {'fault_403': 0, 'limit_422': 1})
    st, _, body = req(sim, '/api/3/contacts', {'limit': 500})
    check(st == 422 and b'errors' in body, 'limit 422: %d' % st)
    sim._req('POST', '/_sim/ac', {'limit_422': 0, 'slow_offsets_ms': 2000})
    t0 = time.monotonic()
    req(sim, '/api/3/contacts', {'offset': 100, 'limit': 1})
    slow = time.monotonic() - t0
    t0 = time.monotonic()
    req(sim, '/api/3/contacts', {'id_greater': 100, 'orders[id]': 'ASC'})
    fast = time.monotonic() - t0
    check(slow >= 0.2 and fast < 0.2, 'slow offsets %.2f / %.2f' %
          (slow, fast))
    st, _, _ = req(sim, '/_sim/ac', {'updated_after': 'weekly'},
                   method='POST')
    check(st == 400, 'bad switch value: %d' % st)
    sim.faults(fault_empty=100)
    st, _, body = req(sim, '/api/3/users/me')
    check(st == 200 and body == b'', 'empty 200: %d %r' % (st, body))


def test_ac_and_eo_in_one_process(t):
    sim = t.sim(**FAST)
    st, _, body = req(sim, '/campaigns', key=None)
    check(st == 401, 'EO path answered by EO: %d' % st)
    r = urllib.request.Request(sim.url + '/campaigns?limit=1')
    r.add_header('Authorization', 'Bearer ' + lib.KEY)
    with urllib.request.urlopen(r, timeout=30) as f:
        check(f.status == 200, 'EO campaigns')
    check('provider' not in sim.truth(), 'default truth is not EO')
    s = sim.stats()['by_provider']
    check(s['emailoctopus']['requests'] == 2 and
          s['activecampaign']['requests'] == 0, 'per-provider stats %r' % s)
