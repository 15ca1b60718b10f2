"""ActiveCampaign campaign details (issue 15, gap 3): the campaign object
carries neither subject nor sender nor target lists. They come from the
campaign's message link (/campaigns/{id}/campaignMessages, or the singular
/campaignMessage), the message (/messages/{id}) and /campaigns/{id}/
campaignLists, read once per sent campaign: a second run asks for none of
them. With the target lists stored, `export csv` has the lists' field
columns. The simulator counts these requests as by_route.campaign_detail
in /_sim/stats."""

import csv
import glob
import json

import aclib
import lib
from lib import check

ROUTE = 'campaign_detail'
BASE_COLS = 3 + 6  # campaign_name, campaign_sent_at, email ... status


def detail_requests(sim):
    return int((aclib.ac_stats(sim).get('by_route') or {}).get(ROUTE, 0))


def stored_campaigns(db):
    con = lib.connect(db)
    try:
        cur = con.execute(
            'SELECT campaign_id, subject, from_name, from_email, to_lists '
            "FROM campaigns WHERE provider = 'activecampaign'")
        return {r[0]: r[1:] for r in cur.fetchall()}
    finally:
        con.close()


def list_fields(db, list_id):
    con = lib.connect(db)
    try:
        row = con.execute(
            "SELECT fields FROM lists WHERE provider = 'activecampaign' "
            'AND list_id = ?', (list_id,)).fetchone()
    finally:
        con.close()
    return json.loads(row[0]) if row and row[0] else []


def check_details(t, sim, tr, what):
    """Every sent campaign has the truth's subject, sender and target list;
    drafts have none."""
    got = stored_campaigns(t.db())
    sent = [c for c in tr['campaigns'] if not c['is_draft']]
    check(sent, 'the simulated account has no sent campaign')
    for c in tr['campaigns']:
        row = got.get(c['id'])
        check(row is not None, '%s: campaign %s not stored' % (what, c['id']))
        if c['is_draft']:
            check(row[3] is None, '%s: draft %s has target lists %r' %
                  (what, c['id'], row[3]))
            continue
        want = (c['subject'], c['from_name'], c['from_email'])
        check(tuple(row[:3]) == want, '%s: campaign %s subject/sender %r, '
              'the message says %r' % (what, c['id'], tuple(row[:3]), want))
        check(row[3] is not None and json.loads(row[3]) == [c['list_id']],
              '%s: campaign %s to_lists %r, want ["%s"]' %
              (what, c['id'], row[3], c['list_id']))
    return sent


def test_ac_details_once_and_csv_field_columns(t):
    sim = aclib.setup(t)
    tr = aclib.truth(sim)
    aclib.sync(t)
    sent = check_details(t, sim, tr, 'backfill')
    first = detail_requests(sim)
    # campaignMessages, the message, campaignLists: three per campaign
    check(first == 3 * len(sent), 'backfill made %d detail requests for '
          '%d sent campaigns, want 3 each' % (first, len(sent)))
    t.espsync('export', 'csv', expect=0)
    filled = 0
    for c in sent:
        fields = list_fields(t.db(), c['list_id'])
        check(fields, 'list %s has no fields stored' % c['list_id'])
        fs = glob.glob(t.path('data', 'exports', 'campaign_%s_*.csv' %
                              c['id']))
        check(len(fs) == 1, 'campaign %s: %d CSV files' % (c['id'], len(fs)))
        with open(fs[0], newline='', encoding='utf-8') as f:
            rows = list(csv.reader(f))
        check(len(rows[0]) == BASE_COLS + len(fields),
              'campaign %s: CSV header %r has not the %d field columns of '
              'list %s' % (c['id'], rows[0], len(fields), c['list_id']))
        filled += sum(1 for r in rows[1:] for v in r[3:3 + len(fields)]
                      if v)
    check(filled, 'no participant has a field value in any CSV file')
    sim.reset_stats()
    aclib.sync(t)
    second = detail_requests(sim)
    check(second == 0, 'an idle re-run made %d detail requests, want none '
          '(details do not change after a send)' % second)
    check_details(t, sim, tr, 'idle re-run')
    t.note('%d sent campaigns: backfill %d detail requests, idle re-run %d'
           % (len(sent), first, second))


def test_ac_details_singular_message_link(t):
    """Accounts that serve only /campaigns/{id}/campaignMessage: the plural
    answers 404 and the singular one is read instead."""
    sim = aclib.setup(t)
    aclib.ac_control(sim, detail='singular')
    tr = aclib.truth(sim)
    aclib.sync(t)
    sent = check_details(t, sim, tr, 'singular campaignMessage')
    n = detail_requests(sim)
    check(n == 4 * len(sent), '%d detail requests for %d campaigns, want 4 '
          'each (the 404 included)' % (n, len(sent)))


def test_ac_details_lean_rows(t):
    """Rows with relation keys only (no subject, messageid or listid): the
    message id comes from "message", the list from "list", the subject
    from the message."""
    sim = aclib.setup(t)
    aclib.ac_control(sim, detail='lean')
    tr = aclib.truth(sim)
    aclib.sync(t)
    check_details(t, sim, tr, 'lean rows')
