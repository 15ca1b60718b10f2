"""ActiveCampaign helpers for the end-to-end tests (standard library only):
start the simulator with an ActiveCampaign account, write the client's
configuration, run `espsync sync --provider activecampaign`, and compare the
SQLite store with GET /_sim/truth?provider=activecampaign.

What the store must hold, derived from the truth (docs/simulator.md,
"Control and truth"):
- email_activities: one row per truth event (v1 report row), keyed by
  (campaign_id, contact_id, event_type, activity_timestamp, link_url), with
  the UTC instant of occurred_at (a bounce: local midnight of its date),
  contact_email, campaign_name, times, link_url (clicks) and bounce_type
  (bounces); no other rows, no natural-key duplicates;
- campaigns: every campaign with name, created_at, sent_at and the counters
  (sent, opened/clicked unique+total, bounced hard+soft, unsubscribed);
  a draft has no sent_at and zero counters;
- participants: one row per (campaign, contact) with an event, with the
  engagement flags those events imply;
- contacts: every live contact (email, names, phone, status, custom field
  values, tag names, list memberships, created_at, updated_at).
"""

import collections
import json
import os

import lib
from lib import check, fail

PROVIDER = 'activecampaign'
TZ = 'America/Chicago'

# Small account with raised limits: the default for every test.
AC_SIM = {
    'ac_key': lib.AC_KEY,
    'ac_rate': 1000,
    'ac_burst': 1000,
    'ac_campaigns': 8,
    'ac_contacts': 150,
}

AC_STAT_COLS = ('sent', 'opened_unique', 'opened_total', 'clicked_unique',
                'clicked_total', 'bounced_hard', 'bounced_soft',
                'unsubscribed')
TRUTH_STATS = ('send_amt', 'uniqueopens', 'opens', 'uniquelinkclicks',
               'linkclicks', 'hardbounces', 'softbounces', 'unsubscribes')
AC_FLAGS = ('opened', 'clicked', 'bounced', 'unsubscribed', 'complained')
FLAG_OF = {'open': 'opened', 'click': 'clicked', 'bounce': 'bounced',
           'unsubscribe': 'unsubscribed'}
SENT_WORDS = ('5', 'sent', 'completed', 'complete')
AUTOMATION_WORDS = ('1', 'automation')
DRAFT_WORDS = ('0', 'draft')


def sim(t, **opts):
    """A simulator serving an ActiveCampaign account (and the usual
    EmailOctopus one, which the AC configuration does not name)."""
    o = dict(AC_SIM)
    o.update(opts)
    return t.sim(**o)


def write_env(t, s, key=lib.AC_KEY, tz=TZ, name='.env', extra=''):
    """A .env naming only the ActiveCampaign account of simulator s."""
    p = t.path(name)
    with open(p, 'w') as f:
        f.write('# written by tests/e2e (activecampaign)\n')
        f.write('ACTIVECAMPAIGN_API_URL=%s\n' % s.url)
        if key is not None:
            f.write('ACTIVECAMPAIGN_API_KEY=%s\n' % key)
        if tz is not None:
            f.write('ACTIVECAMPAIGN_TIMEZONE=%s\n' % tz)
        f.write(extra)
    os.chmod(p, 0o600)
    return p


def setup(t, key=lib.AC_KEY, tz=TZ, **opts):
    s = sim(t, **opts)
    write_env(t, s, key=key, tz=tz)
    return s


def sync(t, *extra, expect=0, **kw):
    return t.espsync('sync', '--provider', PROVIDER, *extra, expect=expect,
                     **kw)


def truth(s):
    return s._req('GET', '/_sim/truth', {'provider': PROVIDER})


def ac_stats(s):
    """by_provider.activecampaign of /_sim/stats."""
    st = s.stats()
    bp = (st.get('by_provider') or {}).get(PROVIDER)
    check(isinstance(bp, dict), '/_sim/stats has no by_provider.%s: %s' %
          (PROVIDER, st))
    return bp


def ac_requests(s):
    return int(ac_stats(s).get('requests', 0))


def ac_status(s, code):
    return int((ac_stats(s).get('by_status') or {}).get(str(code), 0))


def ac_control(s, **kw):
    return s._req('POST', '/_sim/ac', kw)


# ---------------------------------------------------------------- truth

def truth_event_map(tr):
    """{(campaign, contact, type, utc, link_url): event} of the truth."""
    out = {}
    for e in tr.get('events', []):
        k = (e['campaign_id'], e['contact_id'], e['type'],
             lib.utc(e['occurred_at']), e.get('link_url'))
        check(k not in out, 'simulator truth has a natural-key duplicate '
              '%s: the test cannot compare' % (k,))
        out[k] = e
    return out


def truth_events(tr):
    return set(truth_event_map(tr))


def campaign_names(tr):
    return {c['id']: c['name'] for c in tr['campaigns']}


# ---------------------------------------------------------------- store

def store_event_rows(con):
    return con.execute(
        'SELECT * FROM email_activities WHERE provider = ?',
        (PROVIDER,)).fetchall()


def event_key(r):
    return (r['campaign_id'], r['contact_id'], r['event_type'],
            r['activity_timestamp'], r['link_url'])


def store_events(db):
    con = lib.connect(db)
    try:
        return [event_key(r) for r in store_event_rows(con)]
    finally:
        con.close()


def duplicate_report(db):
    """Problems with uniqueness in email_activities: event_id must be
    unique, and so must (contact, campaign, type, timestamp[, link])."""
    out = []
    con = lib.connect(db)
    try:
        rows = store_event_rows(con)
    finally:
        con.close()
    ids = collections.Counter(r['event_id'] for r in rows)
    d = [k for k, n in ids.items() if n > 1]
    if d:
        out.append('%d duplicate event_id values, e.g. %s' % (len(d), d[0]))
    nat = collections.Counter(event_key(r) for r in rows)
    d = sorted(k for k, n in nat.items() if n > 1)
    if d:
        out.append('%d duplicate (campaign, contact, type, timestamp, link) '
                   'events, e.g. %s x%d' % (len(d), d[0], nat[d[0]]))
    nat4 = collections.Counter(k[:4] for k in nat if k[2] != 'click')
    d = sorted(k for k, n in nat4.items() if n > 1)
    if d:
        out.append('%d duplicate (campaign, contact, type, timestamp) '
                   'non-click events, e.g. %s' % (len(d), d[0]))
    return out


def assert_no_duplicates(db, what='store'):
    d = duplicate_report(db)
    if d:
        fail('%s: %s' % (what, d[0]), d[1:])


def _norm_str(v):
    if v is None or v == '':
        return None
    return v


def _norm_fields(v, tr):
    """Custom field values as {title: value}; keys may be titles, perstags
    or field ids; '' and null values count as absent."""
    by_tag = {f['perstag']: f['title'] for f in tr.get('fields', [])}
    by_id = {f['id']: f['title'] for f in tr.get('fields', [])}
    out = {}
    if isinstance(v, list):  # [{field|id|perstag|title, value}, ...]
        items = []
        for x in v:
            if isinstance(x, dict):
                k = (x.get('title') or x.get('perstag') or x.get('field')
                     or x.get('id'))
                items.append((k, x.get('value')))
        v = dict(items)
    if not isinstance(v, dict):
        return {'NOT AN OBJECT': repr(v)[:60]} if v else {}
    for k, val in v.items():
        k = str(k)
        title = by_tag.get(k) or by_id.get(k) or k
        if val is None or val == '':
            continue
        out[title] = val
    return out


def _norm_tags(v, tr):
    by_id = {x['id']: x['tag'] for x in tr.get('tags', [])}
    if not isinstance(v, list):
        return ['NOT A LIST %r' % (v,)] if v else []
    out = []
    for x in v:
        if isinstance(x, dict):
            x = x.get('tag') or x.get('name') or x.get('id')
        x = str(x)
        out.append(x if x in by_id.values() else by_id.get(x, x))
    return sorted(out)


def _norm_lists(v):
    """Memberships as a set of (list_id, status) when the store keeps the
    status, else a set of list ids."""
    if isinstance(v, dict):  # {list_id: status}
        return {(str(k), str(s)) for k, s in v.items()}
    if not isinstance(v, list):
        return {'NOT A LIST %r' % (v,)} if v else set()
    out = set()
    for x in v:
        if isinstance(x, dict):
            lid = x.get('id') or x.get('list') or x.get('list_id')
            st = x.get('status')
            out.add((str(lid), str(st)) if st is not None else str(lid))
        else:
            out.add(str(x))
    return out


def _status(s):
    s = (s or '').lower()
    if s in SENT_WORDS:
        return 'sent'
    if s in DRAFT_WORDS:
        return 'draft'
    if s in AUTOMATION_WORDS:
        return 'automation'
    return s


def compare(db, tr, check_contacts=True, campaign=None):
    """Differences between the store at db and the truth tr (a list of
    one-line messages, at most 40)."""
    diffs = []

    def add(msg):
        if len(diffs) < 40:
            diffs.append(msg)

    con = lib.connect(db)
    try:
        have = set(lib.tables(con))
        for t in ('campaigns', 'participants', 'email_activities',
                  'contacts'):
            if t not in have:
                add('store has no table %s' % t)
        if diffs:
            return diffs
        names = campaign_names(tr)

        # campaigns
        exp = {}
        for c in tr['campaigns']:
            if campaign and c['id'] != campaign:
                continue
            exp[c['id']] = {
                'name': c['name'],
                'status': ('automation' if c.get('automation') else
                           'draft' if c['is_draft'] else 'sent'),
                'created_at': lib.utc(c['created_at']),
                'sent_at': lib.utc(c['sent_at']),
                'stats': tuple(c[k] for k in TRUTH_STATS) + (0,),
            }
        got = {}
        for r in con.execute('SELECT * FROM campaigns WHERE provider = ?',
                             (PROVIDER,)):
            got[r['campaign_id']] = {
                'name': r['name'], 'status': _status(r['status']),
                'created_at': r['created_at'], 'sent_at': r['sent_at'],
                'stats': tuple(r[k] for k in AC_STAT_COLS) +
                (r['complained'],),
            }
        for cid in sorted(set(exp) - set(got), key=int):
            add('campaign %s missing from store' % cid)
        for cid in sorted(set(got) - set(exp)):
            add('campaign %s in store but not in truth' % cid)
        for cid in sorted(set(exp) & set(got), key=int):
            e, g = exp[cid], got[cid]
            for k in e:
                if e[k] != g[k]:
                    add('campaign %s %s: store %r, truth %r%s' %
                        (cid, k, g[k], e[k], (' (%s, complained)' %
                                              ', '.join(AC_STAT_COLS))
                         if k == 'stats' else ''))

        # events
        te = truth_event_map(tr)
        if campaign:
            te = {k: v for k, v in te.items() if k[0] == campaign}
        rows = store_event_rows(con)
        if campaign:
            rows = [r for r in rows if r['campaign_id'] == campaign]
        for d in duplicate_report(db):
            add(d)
        ge = {}
        for r in rows:
            ge[event_key(r)] = r
        bad = {k[2] for k in ge} - set(FLAG_OF)
        if bad:
            add('event types %s in store; the truth has only %s' %
                (sorted(bad), sorted(FLAG_OF)))
        miss = sorted(set(te) - set(ge), key=repr)
        extra = sorted(set(ge) - set(te), key=repr)
        if miss:
            add('%d of %d events missing from store, e.g. %s' %
                (len(miss), len(te), miss[0]))
        if extra:
            add('%d stored events not in truth, e.g. %s' %
                (len(extra), extra[0]))
        if miss and extra:
            add('  (first extra events: %s)' % (extra[:3],))
        nbad = collections.defaultdict(list)
        for k in sorted(set(te) & set(ge), key=repr):
            e, r = te[k], ge[k]
            want = {'contact_email': e['email'],
                    'campaign_name': names.get(e['campaign_id']),
                    'times': e['times'],
                    'bounce_type': e.get('bounce_type'),
                    'activity_date': lib.utc(e['occurred_at'])[:10]}
            for f, v in want.items():
                if r[f] != v:
                    nbad[f].append((k, r[f], v))
        for f, lst in sorted(nbad.items()):
            k, g, w = lst[0]
            add('%d events differ in %s, e.g. %s: store %r, truth %r' %
                (len(lst), f, k, g, w))

        # links: tracked URLs only (not the "open" read-tracker rows), and
        # a clicked link's counts are its click rows and their times
        el = {}
        for e in te.values():
            if e['type'] == 'click':
                c = el.setdefault((e['campaign_id'], e['link_url']), [0, 0])
                c[0] += e['times']
                c[1] += 1
        urls = {(c['id'], u) for c in tr['campaigns'] for u in c['links']}
        if 'campaign_links' in have:
            gl = {}
            for r in con.execute('SELECT * FROM campaign_links WHERE '
                                 'provider = ?', (PROVIDER,)):
                if campaign and r['campaign_id'] != campaign:
                    continue
                gl[(r['campaign_id'], r['url'])] = [r['clicked_total'],
                                                    r['clicked_unique']]
            odd = sorted(set(gl) - urls)
            if odd:
                add('%d campaign_links rows that are not tracked links of '
                    'the campaign, e.g. %s' % (len(odd), odd[0]))
            miss = sorted(set(el) - set(gl))
            if miss:
                add('%d clicked links missing from campaign_links, e.g. %s'
                    % (len(miss), miss[0]))
            bad = sorted(k for k in set(el) & set(gl) if el[k] != gl[k])
            if bad:
                add('%d campaign_links differ in (clicked_total, '
                    'clicked_unique), e.g. %s: store %s, truth %s' %
                    (len(bad), bad[0], gl[bad[0]], el[bad[0]]))
            zero = sorted(k for k in set(gl) - set(el) if any(gl[k]))
            if zero:
                add('%d links without a click in the truth have clicks in '
                    'campaign_links, e.g. %s: %s' % (len(zero), zero[0],
                                                     gl[zero[0]]))

        # participants: one per (campaign, contact) with an event
        ep = {}
        for e in te.values():
            p = ep.setdefault((e['campaign_id'], e['contact_id']),
                              {'email': e['email'], 'flags': set()})
            p['flags'].add(FLAG_OF[e['type']])
        gp = {}
        q = 'SELECT * FROM participants WHERE provider = ?'
        for r in con.execute(q, (PROVIDER,)):
            if campaign and r['campaign_id'] != campaign:
                continue
            gp[(r['campaign_id'], r['contact_id'])] = {
                'email': r['email_address'],
                'flags': {f for f in AC_FLAGS if r[f]},
            }
        miss = sorted(set(ep) - set(gp))
        extra = sorted(set(gp) - set(ep))
        if miss:
            add('%d of %d participants missing from store, e.g. %s' %
                (len(miss), len(ep), miss[0]))
        if extra:
            add('%d participants in store without any event in the truth, '
                'e.g. %s' % (len(extra), extra[0]))
        nbad = collections.defaultdict(list)
        for k in sorted(set(ep) & set(gp)):
            for f in ('email', 'flags'):
                if ep[k][f] != gp[k][f]:
                    nbad[f].append(k)
        for f, keys in sorted(nbad.items()):
            k = keys[0]
            add('%d participants differ in %s, e.g. %s: store %r, truth %r'
                % (len(keys), f, k, gp[k][f], ep[k][f]))

        if campaign or not check_contacts:
            return diffs
        diffs += compare_contacts(con, tr)[:40 - len(diffs)]
        return diffs
    finally:
        con.close()


def compare_contacts(con, tr):
    diffs = []
    ec = {}
    with_status = None
    rows = con.execute('SELECT * FROM contacts WHERE provider = ?',
                       (PROVIDER,)).fetchall()
    gc = {}
    for r in rows:
        lists = _norm_lists(lib.jload(r['lists'], []))
        if lists and with_status is None:
            with_status = all(isinstance(x, tuple) for x in lists)
        gc[r['contact_id']] = {
            'email': r['email'],
            'first_name': _norm_str(r['first_name']),
            'last_name': _norm_str(r['last_name']),
            'phone': _norm_str(r['phone']),
            'status': (r['status'] or '').lower(),
            'fields': _norm_fields(lib.jload(r['fields'], {}), tr),
            'tags': _norm_tags(lib.jload(r['tags'], []), tr),
            'lists': lists,
            'created_at': r['created_at'],
            'updated_at': r['updated_at'],
            'deleted_at': r['deleted_at'],
        }
    deleted = set()
    for c in tr['contacts']:
        if c['deleted']:
            deleted.add(c['id'])
            continue
        if with_status is False:
            lists = {x['id'] for x in c['lists']}
        else:
            lists = {(x['id'], x['status']) for x in c['lists']}
        ec[c['id']] = {
            'email': c['email'],
            'first_name': _norm_str(c['first_name']),
            'last_name': _norm_str(c['last_name']),
            'phone': _norm_str(c['phone']),
            'status': c['status'],
            'fields': _norm_fields(c['fields'], tr),
            'tags': sorted(c['tags']),
            'lists': lists,
            'created_at': lib.utc(c['created_at']),
            'updated_at': lib.utc(c['updated_at']),
            'deleted_at': None,
        }
    miss = sorted(set(ec) - set(gc), key=int)
    extra = sorted(set(gc) - set(ec) - deleted)
    if miss:
        diffs.append('%d of %d live contacts missing from store, e.g. %s' %
                     (len(miss), len(ec), miss[0]))
    if extra:
        diffs.append('%d contacts in store but not in truth, e.g. %s' %
                     (len(extra), extra[0]))
    nbad = collections.defaultdict(list)
    for k in sorted(set(ec) & set(gc), key=int):
        for f in ec[k]:
            if ec[k][f] != gc[k][f]:
                nbad[f].append(k)
    for f, keys in sorted(nbad.items()):
        k = keys[0]
        diffs.append('%d contacts differ in %s, e.g. %s: store %r, truth %r'
                     % (len(keys), f, k, gc[k][f], ec[k][f]))
    return diffs


def assert_equals_truth(db, tr, what='store', **kw):
    diffs = compare(db, tr, **kw)
    if diffs:
        fail('%s differs from truth: %s' % (what, diffs[0]), diffs[1:14])


def summary(tr):
    sent = [c for c in tr['campaigns'] if not c['is_draft']]
    live = [c for c in tr['contacts'] if not c['deleted']]
    return '%d campaigns (%d sent), %d events, %d contacts' % (
        len(tr['campaigns']), len(sent), len(tr['events']), len(live))


def runs(db):
    """sync_runs rows of the provider, oldest first."""
    con = lib.connect(db)
    try:
        return con.execute('SELECT * FROM sync_runs WHERE provider = ? '
                           'ORDER BY run_id', (PROVIDER,)).fetchall()
    finally:
        con.close()


def dump_json(obj):
    return json.dumps(obj, sort_keys=True)


# ---------------------------------------------------------------- proxy

class V1KeyProxy:
    """An HTTP proxy in front of a simulator that passes v3 requests
    through and replaces the key of every v1 request (/admin/api.php: the
    api_key parameter and the Api-Token header) with wrong_key: an account
    whose v3 accepts the key while v1 answers the XML not_allowed page."""

    def __init__(self, target, wrong_key=lib.AC_WRONG_KEY):
        import http.server
        import threading
        import urllib.error
        import urllib.parse
        import urllib.request

        self.target = target
        self.v1_requests = 0
        self.v1_queries = []  # (action, campaignid, page) of each request
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                u = urllib.parse.urlsplit(self.path)
                q = u.query
                hdrs = {k: v for k, v in self.headers.items()
                        if k.lower() not in ('host', 'connection',
                                             'accept-encoding')}
                if u.path == '/admin/api.php':
                    proxy.v1_requests += 1
                    pairs = urllib.parse.parse_qsl(q, keep_blank_values=True)
                    d = dict(pairs)
                    proxy.v1_queries.append((d.get('api_action'),
                                             d.get('campaignid'),
                                             d.get('page', '1')))
                    pairs = [(k, wrong_key if k == 'api_key' else v)
                             for k, v in pairs]
                    q = urllib.parse.urlencode(pairs)
                    for k in list(hdrs):
                        if k.lower() == 'api-token':
                            hdrs[k] = wrong_key
                url = target + u.path + ('?' + q if q else '')
                req = urllib.request.Request(url, headers=hdrs)
                try:
                    with urllib.request.urlopen(req, timeout=30) as r:
                        status, rh, body = r.status, r.headers, r.read()
                except urllib.error.HTTPError as e:
                    status, rh, body = e.code, e.headers, e.read()
                except (urllib.error.URLError, OSError):
                    status, rh, body = 502, {}, b''
                self.send_response(status)
                for k, v in rh.items():
                    if k.lower() in ('content-length', 'connection',
                                     'transfer-encoding', 'date', 'server'):
                        continue
                    self.send_header(k, v)
                self.send_header('Content-Length', str(len(body)))
                self.send_header('Connection', 'close')
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0),
                                                      Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()

    @property
    def url(self):
        return 'http://127.0.0.1:%d' % self.server.server_address[1]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
