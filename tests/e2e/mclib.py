"""Mailchimp helpers for the end-to-end tests (standard library only): start
the simulator with a Mailchimp account, write the client's configuration
(MAILCHIMP_API_KEY with its '-us6' data center, MAILCHIMP_API_URL at the
simulator's /3.0), run `espsync sync --provider mailchimp`, and compare the
SQLite store with GET /_sim/truth?provider=mailchimp.

What the store must hold, derived from the truth (docs/simulator.md,
"Mailchimp"):
- email_activities: one row per truth event (open, click, bounce,
  unsubscribe, complaint) keyed by (campaign_id, member id, event_type,
  UTC occurred_at, link_url); events of members deleted later may be
  missing (the API forgets them) but nothing else; 'sent' rows, if the
  client writes them, belong to a campaign's recipients;
- campaigns: every campaign with name (settings.title), created_at,
  sent_at and the report counters; a draft has no sent_at and zero counts;
- campaign_links: the click-details counts of each link;
- participants: every (campaign, member) with an event, with the flags the
  events imply; other recipients may be there without engagement flags;
- contacts: every live member keyed by its id (email, FNAME, LNAME, PHONE,
  status including archived and cleaned, every tag even past 50,
  updated_at = last_changed, created_at = timestamp_signup or _opt);
- lists: every audience.
"""

import collections
import os

import lib
from lib import check, fail

PROVIDER = 'mailchimp'
KEY = lib.MC_KEY
WRONG_KEY = lib.MC_WRONG_KEY
WRONG_DC_KEY = lib.MC_KEY_STEM + '-us7'

# Small account; the connection limit stays the real 10.
MC_SIM = {
    'mc_key': KEY,
    'mc_campaigns': 8,
    'mc_contacts': 150,
}

STAT_COLS = ('sent', 'opened_unique', 'opened_total', 'clicked_unique',
             'clicked_total', 'bounced_hard', 'bounced_soft', 'complained',
             'unsubscribed')
TRUTH_STATS = ('emails_sent', 'unique_opens', 'opens_total', 'unique_clicks',
               'clicks_total', 'hard_bounces', 'soft_bounces',
               'abuse_reports', 'unsubscribed')
FLAG_OF = {'open': 'opened', 'click': 'clicked', 'bounce': 'bounced',
           'unsubscribe': 'unsubscribed', 'complaint': 'complained'}
ENGAGED = ('opened', 'clicked', 'bounced', 'unsubscribed', 'complained')


def sim(t, **opts):
    o = dict(MC_SIM)
    o.update(opts)
    return t.sim(**o)


def write_env(t, s, key=KEY, name='.env', extra='', url=None):
    p = t.path(name)
    with open(p, 'w') as f:
        f.write('# written by tests/e2e (mailchimp)\n')
        f.write('MAILCHIMP_API_URL=%s\n' % (url or s.url + '/3.0'))
        if key is not None:
            f.write('MAILCHIMP_API_KEY=%s\n' % key)
        f.write(extra)
    os.chmod(p, 0o600)
    return p


def setup(t, key=KEY, **opts):
    s = sim(t, **opts)
    write_env(t, s, key=key)
    return s


def sync(t, *extra, expect=0, **kw):
    return t.espsync('sync', '--provider', PROVIDER, *extra, expect=expect,
                     **kw)


def truth(s):
    return s._req('GET', '/_sim/truth', {'provider': PROVIDER})


def control(s, **kw):
    return s._req('POST', '/_sim/mc', kw)


def stats(s):
    st = s.stats()
    bp = (st.get('by_provider') or {}).get(PROVIDER)
    check(isinstance(bp, dict), '/_sim/stats has no by_provider.%s' %
          PROVIDER)
    return bp


def requests(s):
    return int(stats(s).get('requests', 0))


def status(s, code):
    return int((stats(s).get('by_status') or {}).get(str(code), 0))


def peak(s):
    return int(stats(s).get('peak_in_flight', 0))


def reads(s, reset=False):
    """{campaign id: per-recipient report requests} since the last reset."""
    r = control(s, reset_reads=1) if reset else control(s)
    return r.get('reads') or {}


# ---------------------------------------------------------------- truth

def truth_event_map(tr):
    """{(campaign, member, type, utc, link_url): event} of the truth."""
    out = {}
    for e in tr.get('events', []):
        k = (e['campaign_id'], e['member_id'], e['type'],
             lib.utc(e['occurred_at']), e.get('link_url'))
        check(k not in out, 'simulator truth has a natural-key duplicate '
              '%s: the test cannot compare' % (k,))
        out[k] = e
    return out


def truth_events(tr):
    return set(truth_event_map(tr))


def store_event_rows(con):
    return con.execute('SELECT * FROM email_activities WHERE provider = ?',
                       (PROVIDER,)).fetchall()


def event_key(r):
    return (r['campaign_id'], r['contact_id'], r['event_type'],
            r['activity_timestamp'], r['link_url'])


def store_events(db):
    con = lib.connect(db)
    try:
        return [event_key(r) for r in store_event_rows(con)
                if r['event_type'] != 'sent']
    finally:
        con.close()


def duplicate_report(db):
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
    d = sorted((k for k, n in nat.items() if n > 1), key=repr)
    if d:
        out.append('%d duplicate (campaign, member, type, timestamp, link) '
                   'events, e.g. %s x%d' % (len(d), d[0], nat[d[0]]))
    return out


def assert_no_duplicates(db, what='store'):
    d = duplicate_report(db)
    if d:
        fail('%s: %s' % (what, d[0]), d[1:])


def _s(v):
    return None if v is None or v == '' else v


def _status(s):
    s = (s or '').lower()
    return 'draft' if s in ('save', 'draft') else s


def _tags(v):
    if not isinstance(v, list):
        return ['NOT A LIST %r' % (v,)] if v else []
    return sorted(str(x.get('name') if isinstance(x, dict) else x)
                  for x in v)


def compare(db, tr, check_contacts=True):
    """Differences between the store and the truth (at most 40 lines)."""
    diffs = []

    def add(msg):
        if len(diffs) < 40:
            diffs.append(msg)

    con = lib.connect(db)
    try:
        have = set(lib.tables(con))
        for tb in ('campaigns', 'participants', 'email_activities',
                   'contacts'):
            if tb not in have:
                add('store has no table %s' % tb)
        if diffs:
            return diffs
        camps = {c['id']: c for c in tr['campaigns']}
        # campaigns
        got = {r['campaign_id']: r for r in con.execute(
            'SELECT * FROM campaigns WHERE provider = ?', (PROVIDER,))}
        for cid in sorted(set(camps) - set(got)):
            add('campaign %s missing from store' % cid)
        for cid in sorted(set(got) - set(camps)):
            add('campaign %s in store but not in truth' % cid)
        for cid in sorted(set(camps) & set(got)):
            c, r = camps[cid], got[cid]
            want = {'name': c['title'],
                    'status': 'draft' if c['is_draft'] else 'sent',
                    'created_at': lib.utc(c['created_at']),
                    'sent_at': lib.utc(c['sent_at']),
                    'stats': tuple(c[k] for k in TRUTH_STATS)}
            have_r = {'name': r['name'], 'status': _status(r['status']),
                      'created_at': r['created_at'],
                      'sent_at': r['sent_at'],
                      'stats': tuple(r[k] for k in STAT_COLS)}
            for k in want:
                if want[k] != have_r[k]:
                    add('campaign %s %s: store %r, truth %r%s' % (
                        cid, k, have_r[k], want[k],
                        ' (%s)' % ', '.join(STAT_COLS)
                        if k == 'stats' else ''))
        # events
        te = truth_event_map(tr)
        rows = store_event_rows(con)
        for d in duplicate_report(db):
            add(d)
        ge = {event_key(r): r for r in rows if r['event_type'] != 'sent'}
        bad = {k[2] for k in ge} - set(FLAG_OF)
        if bad:
            add('event types %s in store; the truth has only %s' %
                (sorted(bad), sorted(FLAG_OF)))
        gone = {k for k, e in te.items() if e['member_deleted']}
        miss = sorted(set(te) - set(ge) - gone, key=repr)
        extra = sorted(set(ge) - set(te), key=repr)
        if miss:
            add('%d of %d events missing from store, e.g. %s' %
                (len(miss), len(te), miss[0]))
        if extra:
            add('%d stored events not in truth, e.g. %s' %
                (len(extra), extra[0]))
        nbad = collections.defaultdict(list)
        for k in sorted(set(te) & set(ge), key=repr):
            e, r = te[k], ge[k]
            want = {'contact_email': e['email'],
                    'campaign_name': camps[e['campaign_id']]['title'],
                    'bounce_type': e.get('bounce_type'),
                    'activity_date': lib.utc(e['occurred_at'])[:10]}
            for f, v in want.items():
                if r[f] != v:
                    nbad[f].append((k, r[f], v))
        for f, lst in sorted(nbad.items()):
            k, g, w = lst[0]
            add('%d events differ in %s, e.g. %s: store %r, truth %r' %
                (len(lst), f, k, g, w))
        sent = [r for r in rows if r['event_type'] == 'sent']
        odd = [r['campaign_id'] for r in sent if r['campaign_id'] not in camps
               or camps[r['campaign_id']]['is_draft']]
        if odd:
            add('%d sent events of drafts or unknown campaigns, e.g. %s' %
                (len(odd), odd[0]))
        # links
        if 'campaign_links' in have:
            want = {(c['id'], x['url']): (x['total_clicks'],
                                          x['unique_clicks'])
                    for c in tr['campaigns'] for x in c['links']}
            gl = {(r['campaign_id'], r['url']): (r['clicked_total'],
                                                 r['clicked_unique'])
                  for r in con.execute('SELECT * FROM campaign_links WHERE '
                                       'provider = ?', (PROVIDER,))}
            odd = sorted(set(gl) - set(want))
            if odd:
                add('%d campaign_links rows not links of the campaign, '
                    'e.g. %s' % (len(odd), odd[0]))
            miss = sorted(k for k in want if want[k][0] and k not in gl)
            if miss:
                add('%d clicked links missing from campaign_links, e.g. %s'
                    % (len(miss), miss[0]))
            bad = sorted(k for k in set(gl) & set(want) if gl[k] != want[k])
            if bad:
                add('%d campaign_links differ, e.g. %s: store %s, truth %s'
                    % (len(bad), bad[0], gl[bad[0]], want[bad[0]]))
        # participants
        ep = {}
        for k, e in te.items():
            if k in gone:
                continue
            ep.setdefault((e['campaign_id'], e['member_id']),
                          set()).add(FLAG_OF[e['type']])
        gp = {(r['campaign_id'], r['contact_id']):
              {f for f in ENGAGED if r[f]}
              for r in con.execute('SELECT * FROM participants WHERE '
                                   'provider = ?', (PROVIDER,))}
        miss = sorted(set(ep) - set(gp))
        if miss:
            add('%d of %d engaged participants missing from store, e.g. %s'
                % (len(miss), len(ep), miss[0]))
        gone_p = {(e['campaign_id'], e['member_id']) for k, e in te.items()
                  if k in gone}
        wrong = sorted(k for k in gp if k not in gone_p and
                       gp[k] != ep.get(k, set()))
        if wrong:
            k = wrong[0]
            add('%d participants differ in flags, e.g. %s: store %s, truth '
                '%s' % (len(wrong), k, sorted(gp[k]),
                        sorted(ep.get(k, set()))))
        if check_contacts:
            diffs += compare_contacts(con, tr)[:40 - len(diffs)]
        return diffs
    finally:
        con.close()


def compare_contacts(con, tr):
    diffs = []
    gc = {r['contact_id']: r for r in con.execute(
        'SELECT * FROM contacts WHERE provider = ?', (PROVIDER,))}
    ec, deleted = {}, set()
    for m in tr['members']:
        if m['deleted']:
            deleted.add(m['id'])
            continue
        ec[m['id']] = m
    miss = sorted(set(ec) - set(gc))
    extra = sorted(set(gc) - set(ec) - deleted)
    if miss:
        diffs.append('%d of %d live members missing from store, e.g. %s' %
                     (len(miss), len(ec), miss[0]))
    if extra:
        diffs.append('%d contacts in store but not in truth, e.g. %s' %
                     (len(extra), extra[0]))
    nbad = collections.defaultdict(list)
    for k in sorted(set(ec) & set(gc)):
        m, r = ec[k], gc[k]
        want = {'email': m['email'], 'first_name': _s(m['first_name']),
                'last_name': _s(m['last_name']), 'phone': _s(m['phone']),
                'status': m['status'], 'tags': sorted(m['tags']),
                'updated_at': lib.utc(m['last_changed']),
                'deleted_at': None}
        got = {'email': r['email'], 'first_name': _s(r['first_name']),
               'last_name': _s(r['last_name']), 'phone': _s(r['phone']),
               'status': (r['status'] or '').lower(),
               'tags': _tags(lib.jload(r['tags'], [])),
               'updated_at': r['updated_at'], 'deleted_at': r['deleted_at']}
        for f in want:
            if want[f] != got[f]:
                nbad[f].append((k, got[f], want[f]))
        created = {lib.utc(m['timestamp_opt']),
                   lib.utc(m['timestamp_signup'])} - {None}
        if r['created_at'] not in created:
            nbad['created_at'].append((k, r['created_at'], sorted(created)))
    for f, lst in sorted(nbad.items()):
        k, g, w = lst[0]
        if f == 'tags':
            g, w = ('%d tags, %d of the truth\'s missing (%s), %d extra' % (
                len(g), len(set(w) - set(g)), sorted(set(w) - set(g))[:3],
                len(set(g) - set(w))), '%d tags' % len(w))
        diffs.append('%d contacts differ in %s, e.g. %s: store %s, truth %s'
                     % (len(lst), f, k, str(g)[:200], str(w)[:200]))
    return diffs


def assert_equals_truth(db, tr, what='store', **kw):
    diffs = compare(db, tr, **kw)
    if diffs:
        fail('%s differs from truth: %s' % (what, diffs[0]), diffs[1:14])


def summary(tr):
    sent = [c for c in tr['campaigns'] if not c['is_draft']]
    live = [m for m in tr['members'] if not m['deleted']]
    return '%d campaigns (%d sent), %d events, %d members' % (
        len(tr['campaigns']), len(sent), len(tr['events']), len(live))


def runs(db):
    con = lib.connect(db)
    try:
        return con.execute('SELECT * FROM sync_runs WHERE provider = ? '
                           'ORDER BY run_id', (PROVIDER,)).fetchall()
    finally:
        con.close()
