"""The BigQuery views daily_activity and campaign_engagement give the same
answers as PostgreSQL's on the same data: one simulator account of each
provider is synced into a PostgreSQL store (the tests' own cluster) and
into the BigQuery fake, both views are queried (psql; the fake's
jobs.query through the REST API) and the row sets, with dates as
YYYY-MM-DD, instants as Unix seconds and rates rounded to 6 places,
must be equal. The README's example queries run against the fake too."""

import json
import os
import re

import aclib
import bqutil
import lib
import mclib
import pgutil
from lib import check

PROVIDERS = ('emailoctopus', aclib.PROVIDER, mclib.PROVIDER)

DAILY_COLS = ('activity_date', 'event_type', 'events', 'unique_contacts',
              'campaigns')
ENGAGEMENT_COLS = ('provider', 'account', 'campaign_id', 'name', 'sent_at',
                   'recipients', 'opens', 'clicks', 'bounces', 'complaints',
                   'unsubscribes', 'open_rate', 'click_rate', 'bounce_rate',
                   'unsubscribe_rate')
RATES = ('open_rate', 'click_rate', 'bounce_rate', 'unsubscribe_rate')
TEXT = ('activity_date', 'event_type', 'provider', 'account', 'campaign_id',
        'name')


def setup(t):
    """One simulator with an account of each provider and a .env naming
    all three; returns the simulator."""
    opts = dict(aclib.AC_SIM)
    opts.update(mclib.MC_SIM)
    sim = t.sim(**opts)
    t.write_env(sim, extra=(
        'ACTIVECAMPAIGN_API_URL=%s\nACTIVECAMPAIGN_API_KEY=%s\n'
        'ACTIVECAMPAIGN_TIMEZONE=%s\nMAILCHIMP_API_URL=%s/3.0\n'
        'MAILCHIMP_API_KEY=%s\n' % (sim.url, lib.AC_KEY, aclib.TZ, sim.url,
                                    mclib.KEY)))
    return sim


def norm(cols, row):
    """A view row as comparable values: text as text, dates YYYY-MM-DD,
    counts and instants as ints, rates rounded to 6 places."""
    out = []
    for c, v in zip(cols, row):
        if v is None:
            out.append(None)
        elif c in RATES:
            out.append(round(float(v), 6))
        elif c == 'activity_date':
            out.append(str(v)[:10])
        elif c in TEXT:
            out.append(str(v))
        else:
            out.append(int(float(v)))
    return tuple(out)


def pg_rows(c, db, sql, cols):
    lines = c.psql(db, 'SELECT row_to_json(x) FROM (%s) x' % sql)
    return sorted((norm(cols, tuple(json.loads(ln)[k] for k in cols))
                   for ln in lines), key=repr)


def bq_rows(bq, sql, cols):
    names, rows = bq.query(sql)
    check(tuple(names) == cols, 'BigQuery columns %s, want %s' %
          (names, cols))
    return sorted((norm(cols, r) for r in rows), key=repr)


def diff(a, b, limit=6):
    sa, sb = set(a), set(b)
    return (['only in PostgreSQL: %r' % (r,) for r in sorted(
        sa - sb, key=repr)[:limit]] +
        ['only in BigQuery:   %r' % (r,) for r in sorted(
            sb - sa, key=repr)[:limit]])


def view_sql(view, cols, pg):
    """SELECT of every column of a view; sent_at as Unix seconds."""
    sel = []
    for c in cols:
        if c == 'sent_at':
            sel.append('floor(extract(epoch FROM sent_at))::bigint AS '
                       'sent_at' if pg else
                       'UNIX_SECONDS(sent_at) AS sent_at')
        else:
            sel.append(c)
    src = view if pg else '`%s.%s.%s`' % (bqutil.PROJECT, bqutil.DATASET,
                                          view)
    return 'SELECT %s FROM %s' % (', '.join(sel), src)


# Campaigns added to both stores after the syncs: rates whose 5th decimal
# is a 5 (631/800 = 0.78875 rounds to 0.7888 in exact arithmetic, to
# 0.7887 from the nearest binary double), a repeating fraction, a large
# send and a campaign sent to nobody (rates NULL).
# (campaign_id, sent, opened_unique, clicked_unique, bounced_hard,
#  bounced_soft, complained, unsubscribed)
EDGE_CAMPAIGNS = (
    ('edge-800', 800, 631, 627, 290, 291, 1, 577),
    ('edge-160', 160, 3, 157, 1, 0, 0, 159),
    ('edge-3', 3, 2, 1, 0, 1, 0, 0),
    ('edge-big', 1000003, 500001, 3, 2, 1, 0, 7),
    ('edge-0', 0, 0, 0, 0, 0, 0, 0),
)
EDGE_COLS = ('campaign_id', 'sent', 'opened_unique', 'clicked_unique',
             'bounced_hard', 'bounced_soft', 'complained', 'unsubscribed')


def edge_insert(table):
    """One INSERT of EDGE_CAMPAIGNS (provider 'edge', sent at a fixed
    instant) valid in both SQL dialects; table is the quoted name."""
    rows = ', '.join("('edge', 'edge', '%s', 'Edge %s', TIMESTAMP "
                     "'2024-05-01 10:00:00+00', %s)" % (
                         r[0], r[0], ', '.join(str(v) for v in r[1:]))
                     for r in EDGE_CAMPAIGNS)
    return ('INSERT INTO %s (provider, account, %s, name, sent_at, %s) '
            'VALUES %s' % (table, EDGE_COLS[0], ', '.join(EDGE_COLS[1:]),
                           rows))


def test_bq_views_equal_postgresql(t):
    """daily_activity and campaign_engagement: the same rows in BigQuery
    and PostgreSQL after the same three providers' syncs."""
    sim = setup(t)
    db = pgutil.new_db(t)
    c = pgutil.cluster()
    bq = bqutil.start(t)
    for p in PROVIDERS:
        t.espsync('--store', c.url(db), 'sync', '--provider', p, expect=0)
        t.espsync('--store', bq.store_url(), 'sync', '--provider', p,
                  env=bq.env(t), expect=0)
    c.psql(db, edge_insert('campaigns'))
    bq.query(edge_insert('`%s.%s.campaigns`' % (bqutil.PROJECT,
                                                 bqutil.DATASET)))
    for view, cols in (('daily_activity', DAILY_COLS),
                       ('campaign_engagement', ENGAGEMENT_COLS)):
        want = pg_rows(c, db, view_sql(view, cols, True), cols)
        got = bq_rows(bq, view_sql(view, cols, False), cols)
        check(len(want) > 10, 'PostgreSQL %s has %d rows: too few to '
              'compare' % (view, len(want)))
        check(got == want, '%s differs: %d rows in BigQuery, %d in '
              'PostgreSQL' % (view, len(got), len(want)), diff(want, got))
        t.note('%s: %d rows' % (view, len(want)))
    # the data covers what the views compute: every provider, rates
    # that are not round, campaigns that were never sent
    eng = pg_rows(c, db, view_sql('campaign_engagement', ENGAGEMENT_COLS,
                                  True), ENGAGEMENT_COLS)
    check({r[0] for r in eng} == set(PROVIDERS + ('edge',)),
          'providers in campaign_engagement: %s' % {r[0] for r in eng})
    check(any(r[11] is None for r in eng) and
          any(r[11] not in (None, 0.0, 1.0) for r in eng),
          'campaign_engagement has no unsent campaign or no fractional '
          'open rate: %s' % eng[:3])


def readme_sql():
    """The queries (SELECT …) of the README's BigQuery section."""
    with open(os.path.join(lib.HERE, '..', '..', 'README.md')) as f:
        text = f.read()
    sec = text.split('\n## BigQuery\n', 1)[1].split('\n## ', 1)[0]
    blocks = re.findall(r'```sql\n(.*?)```', sec, re.S)
    stmts = []
    for b in blocks:
        body = '\n'.join(ln for ln in b.splitlines()
                         if not ln.lstrip().startswith('--'))
        stmts += [s.strip() for s in body.split(';')
                  if s.strip().upper().startswith(('SELECT', 'WITH'))]
    return stmts


def test_bq_readme_queries(t):
    """Every query of the README's BigQuery section runs against the fake
    (my-project.marketing renamed to the test dataset), and those not bound to today or to a made-up contact
    return rows."""
    stmts = readme_sql()
    check(len(stmts) >= 3, 'the README BigQuery section has %d SQL '
          'queries' % len(stmts))
    sim = setup(t)
    bq = bqutil.start(t)
    for p in PROVIDERS:
        t.espsync('--store', bq.store_url(), 'sync', '--provider', p,
                  env=bq.env(t), expect=0)
    for sql in stmts:
        sql = sql.replace('my-project.marketing', '%s.%s' % (
            bqutil.PROJECT, bqutil.DATASET))
        names, rows = bq.query(sql)
        # the simulator's data is not from the last 7 days, nor Jane's
        if 'CURRENT_DATE' not in sql and 'jane@' not in sql:
            check(rows, 'README query returned no rows: %s' % sql)
        t.note('%d rows' % len(rows))
