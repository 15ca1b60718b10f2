"""MongoDB store: a sync equals the simulator's truth, a re-run creates no
document, documents have the earlier tool's schema (field by field, types
included), natural keys are unique (checked by aggregation: the test server
does not enforce unique indexes), export/stats/state read the same as from
SQLite, a down server exits 5 without printing the password, and pymongo
(when installed) reads the data back as an independent client.

Server: CongoDB from @push.rocks/smartmongo 2.2.0 under Node (mongoutil)."""

import datetime
import filecmp
import json
import os
import subprocess
import sys

import lib
import mongoutil
from lib import check, fail

DB = 'espsync_e2e'
COLLECTIONS = ('campaigns', 'campaign_links', 'participants',
               'email_activities', 'contacts', 'lists', 'sync_state',
               'sync_runs')
STAT_NAMES = ('sent', 'opened', 'clicked', 'bounced', 'complained',
              'unsubscribed')
DATE = datetime.datetime
NONE = type(None)

# The earlier tool's documents (DESIGN §4) plus provider/account, which let
# several accounts share one database. Values: allowed Python types.
CAMPAIGN_SCHEMA = {
    '_id': (mongoutil.ObjectId,), 'provider': (str,), 'account': (str,),
    'campaign_id': (str,), 'name': (str, NONE), 'subject': (str, NONE),
    'from_name': (str, NONE), 'from_email': (str, NONE),
    'created_at': (DATE,), 'sent_at': (DATE, NONE), 'status': (str,),
    'to_lists': (list,), 'statistics': (dict,), 'synced_at': (DATE,),
}
PARTICIPANT_SCHEMA = {
    '_id': (mongoutil.ObjectId,), 'provider': (str,), 'account': (str,),
    'contact_id': (str,), 'campaign_id': (str,), 'email_address': (str,),
    'status': (str,), 'fields': (dict,), 'engagement': (dict,),
    'synced_at': (DATE,),
}
INDEXES = {
    'campaigns': [('campaign_id',), ('status',), ('synced_at',)],
    'participants': [('campaign_id', 'contact_id'), ('campaign_id',),
                     ('email_address',)],
    'email_activities': [('event_id',),
                         ('contact_email', 'campaign_id', 'event_type')],
    'contacts': [('provider', 'contact_id')],
}
UNIQUE = {('campaigns', ('campaign_id',)),
          ('participants', ('campaign_id', 'contact_id')),
          ('email_activities', ('event_id',)),
          ('contacts', ('provider', 'contact_id'))}


def setup(t, **opts):
    sim = t.sim(**opts)
    t.write_env(sim)
    srv = mongoutil.start(t)
    return sim, srv


def snapshot(cl):
    """{collection: sorted _ids} for the data collections."""
    return {c: sorted(d['_id'].hex() for d in cl.find(DB, c))
            for c in COLLECTIONS if c not in ('sync_state', 'sync_runs')}


def check_schema(docs, schema, what):
    bad = []
    for d in docs:
        if set(d) != set(schema):
            bad.append('%s fields %s, expected %s' % (
                what, sorted(d), sorted(schema)))
        for k, types in schema.items():
            if k in d and not isinstance(d[k], types):
                bad.append('%s %s: %s is a %s' % (
                    what, d.get('campaign_id'), k, type(d[k]).__name__))
        if len(bad) > 5:
            break
    if bad:
        fail(bad[0], bad[1:])


def test_mongo_sync_equals_truth_and_rerun_creates_nothing(t):
    sim, srv = setup(t)
    url = srv.url(DB)
    t.sync('--store', url)
    cl = srv.client()
    path = mongoutil.to_sqlite(cl, DB, t.path('mongo-copy.db'))
    truth = mongoutil.truth_for_mongo(sim.truth())
    lib.assert_equals_truth(path, truth, what='MongoDB store')
    before = snapshot(cl)
    check(all(before[c] for c in ('campaigns', 'participants',
                                  'email_activities', 'contacts', 'lists')),
          'empty collections after a sync: %s' %
          {c: len(v) for c, v in before.items()})
    t.sync('--store', url, '--full')
    t.sync('--store', url)
    after = snapshot(cl)
    for c in before:
        check(before[c] == after[c], 're-run changed %s: %d -> %d documents'
              % (c, len(before[c]), len(after[c])))
    for c, keys in mongoutil.NATURAL_KEYS.items():
        dup = mongoutil.duplicates(cl, DB, c, keys)
        check(not dup, '%d duplicate natural keys in %s, e.g. %s' %
              (len(dup), c, dup[:1]))
    runs = cl.find(DB, 'sync_runs', sort={'run_id': 1})
    check([r['run_id'] for r in runs] == [1, 2, 3],
          'run ids %s' % [r['run_id'] for r in runs])
    check([r['status'] for r in runs] == ['complete'] * 3,
          'run statuses %s' % [r['status'] for r in runs])
    cl.close()


def test_mongo_documents_have_the_earlier_tools_schema(t):
    sim, srv = setup(t)
    t.sync('--store', srv.url(DB))
    cl = srv.client()
    camps = cl.find(DB, 'campaigns')
    check(camps, 'no campaigns')
    check_schema(camps, CAMPAIGN_SCHEMA, 'campaign')
    for c in camps:
        st = c['statistics']
        check(sorted(st) == sorted(STAT_NAMES),
              'statistics keys %s' % sorted(st))
        for n in STAT_NAMES:
            check(sorted(st[n]) == ['total', 'unique'] and
                  all(type(v) is int for v in st[n].values()),
                  'statistics.%s is %r' % (n, st[n]))
        check(c['status'] == c['status'].upper(),
              'status %r is not stored uppercase' % c['status'])
        check(all(isinstance(x, str) for x in c['to_lists']),
              'to_lists %r' % c['to_lists'])
    truth = {c['id']: c for c in sim.truth()['campaigns']}
    for c in camps:
        s = truth[c['campaign_id']].get('summary')
        if s:
            st = c['statistics']
            check(st['sent'] == {'unique': s['sent'], 'total': s['sent']},
                  'statistics.sent %r' % st['sent'])
            b = s['bounced']['hard'] + s['bounced']['soft']
            check(st['bounced'] == {'unique': b, 'total': b},
                  'statistics.bounced %r, truth %r' % (st['bounced'],
                                                        s['bounced']))
    parts = cl.find(DB, 'participants')
    check(parts, 'no participants')
    check_schema(parts, PARTICIPANT_SCHEMA, 'participant')
    for p in parts:
        e = p['engagement']
        check(sorted(e) == sorted(lib.FLAGS) and
              all(type(v) is bool for v in e.values()),
              'engagement %r' % e)
        check(all(isinstance(v, (str, int, float, list, type(None)))
                  for v in p['fields'].values()),
              'fields %r' % p['fields'])
    ev = cl.find(DB, 'email_activities')
    check(ev and all(isinstance(e['activity_timestamp'], DATE) and
                     isinstance(e['activity_date'], str) for e in ev),
          'email_activities dates are not BSON dates')
    have = {}
    for c in INDEXES:
        have[c] = {tuple(ix['key']): bool(ix.get('unique'))
                   for ix in cl.indexes(DB, c)}
        for keys in INDEXES[c]:
            check(keys in have[c], 'index %s %s missing; have %s' %
                  (c, keys, sorted(have[c])))
            check(have[c][keys] == ((c, keys) in UNIQUE),
                  'index %s %s unique=%s' % (c, keys, have[c][keys]))
    # Opening again creates the same indexes (idempotent) and nothing else.
    t.espsync('--store', srv.url(DB), 'stats', expect=0)
    for c in INDEXES:
        again = {tuple(ix['key']): bool(ix.get('unique'))
                 for ix in cl.indexes(DB, c)}
        check(again == have[c], 'indexes of %s changed on re-open' % c)
    cl.close()


def test_mongo_export_stats_state_same_as_sqlite(t):
    sim, srv = setup(t)
    url = srv.url(DB)
    t.sync('--store', url)
    t.sync()
    sq, mg = t.path('csv-sqlite'), t.path('csv-mongo')
    t.espsync('export', 'csv', '--export-dir', sq, expect=0)
    t.espsync('--store', url, 'export', 'csv', '--export-dir', mg, expect=0)
    a, b = sorted(os.listdir(sq)), sorted(os.listdir(mg))
    check(a and a == b, 'export file names differ: %s vs %s' % (a, b))
    differ = [f for f in a if not filecmp.cmp(os.path.join(sq, f),
                                              os.path.join(mg, f),
                                              shallow=False)]
    check(not differ, '%d of %d CSV files differ, e.g. %s' %
          (len(differ), len(a), differ[:1]))
    s1 = t.espsync('stats', '--json', expect=0).summary()
    s2 = t.espsync('--store', url, 'stats', '--json', expect=0).summary()
    for k in ('campaigns', 'participants', 'events', 'contacts', 'lists'):
        check(json.dumps(s1.get(k), sort_keys=True) ==
              json.dumps(s2.get(k), sort_keys=True),
              'stats %s: sqlite %r, mongodb %r' % (k, s1.get(k), s2.get(k)))
    st1 = t.espsync('state', 'show', '--json', expect=0).summary()
    st2 = t.espsync('--store', url, 'state', 'show', '--json',
                    expect=0).summary()

    def streams(s):
        out = set()
        for p in lib.jload(json.dumps(s), {}).get('providers', []) or []:
            for st in p.get('streams', []) or []:
                out.add((st.get('stream'), json.dumps(st.get('value'),
                                                      sort_keys=True)))
        return out
    check(streams(st1) == streams(st2), 'state differs: %s' %
          sorted(streams(st1) ^ streams(st2))[:3])
    r = t.espsync('--store', url, 'state', 'reset', '--stream', 'campaign:',
                  expect=0)
    cl = srv.client()
    left = [d['stream'] for d in cl.find(DB, 'sync_state')
            if d['stream'].startswith('campaign:')]
    check(not left, 'state reset left %s (%s)' % (left[:2], r.describe()))
    cl.close()


def test_mongo_down_server_exits_5_without_password(t):
    sim = t.sim()
    t.write_env(sim)
    pw = 'mongo-PW-SECRET-51x'
    url = 'mongodb://espsync:%s@127.0.0.1:%d/%s' % (
        pw, mongoutil.free_port(), DB)
    for args in (('sync',), ('stats',), ('export', 'csv')):
        r = t.espsync('--store', url, *args, expect=5, timeout=60)
        check(pw not in r.out + r.err, 'password printed by %s' %
              ' '.join(args))
        lines = r.err_lines()
        check(len(lines) == 1 and 'mongodb' in lines[0],
              'expected one error line, got %r' % lines[:3])
        check(r.elapsed < 15, '%s took %.1fs against a down server' %
              (' '.join(args), r.elapsed))
    r = t.espsync('--store', url.replace('mongodb://', 'mongodb+srv://'),
                  'stats', timeout=60)
    check(r.rc in (2, 5) and pw not in r.out + r.err,
          'mongodb+srv with a port: %s' % r.describe())


def test_mongo_from_the_earlier_tools_env(t):
    sim = t.sim()
    srv = mongoutil.start(t)
    t.write_env(sim, extra='MONGODB_HOST=127.0.0.1\nMONGODB_PORT=%d\n'
                'MONGODB_DATABASE=seed_db\n' % srv.port)
    t.sync()
    check(not os.path.exists(t.db()), 'sync wrote SQLite despite MONGODB_*')
    cl = srv.client()
    n = len(cl.find('seed_db', 'campaigns'))
    check(n == len(sim.truth()['campaigns']), '%d campaigns in seed_db' % n)
    cl.close()


PYMONGO_CHECK = r'''
import datetime, json, sys
import bson, pymongo
c = pymongo.MongoClient(sys.argv[1], serverSelectionTimeoutMS=5000)
db = c.get_default_database()
out = {"campaigns": 0, "participants": 0, "bad": []}
for d in db.campaigns.find():
    out["campaigns"] += 1
    if not isinstance(d["_id"], bson.ObjectId):
        out["bad"].append("campaign _id %r" % d["_id"])
    if not isinstance(d["created_at"], datetime.datetime):
        out["bad"].append("created_at %r" % d["created_at"])
    if not isinstance(d["statistics"]["opened"]["unique"], int):
        out["bad"].append("statistics %r" % d["statistics"])
for d in db.participants.find({"engagement.opened": True}):
    out["participants"] += 1
    if d["engagement"]["opened"] is not True:
        out["bad"].append("engagement %r" % d["engagement"])
print(json.dumps(out))
'''


def pymongo_python():
    for py in (sys.executable, '/usr/bin/python3'):
        if py and os.access(py, os.X_OK) and subprocess.run(
                [py, '-c', 'import pymongo'], capture_output=True,
                timeout=60).returncode == 0:
            return py
    return None


def test_mongo_pymongo_reads_the_data(t):
    py = pymongo_python()
    if not py:
        t.note('python3-pymongo not installed: independent client skipped')
        return
    sim, srv = setup(t)
    t.sync('--store', srv.url(DB))
    p = subprocess.run([py, '-c', PYMONGO_CHECK, srv.url(DB)],
                       capture_output=True, timeout=120)
    check(p.returncode == 0, 'pymongo check failed: %s' %
          p.stderr.decode('utf-8', 'replace')[-300:])
    got = json.loads(p.stdout)
    check(not got['bad'], 'pymongo saw %s' % got['bad'][:3])
    cl = srv.client()
    camps = len(cl.find(DB, 'campaigns'))
    opened = len(cl.find(DB, 'participants', {'engagement.opened': True}))
    cl.close()
    check(got['campaigns'] == camps and got['participants'] == opened,
          'pymongo read %s, wire client %d campaigns %d opened' %
          (got, camps, opened))
    check(opened > 0, 'no opened participants to compare')
