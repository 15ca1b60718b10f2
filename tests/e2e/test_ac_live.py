"""Issue 15: answers captured from live ActiveCampaign and EmailOctopus
accounts that the documented shapes do not show. The simulator produces
them (--ac-automations, --ac-live, --draft-sent-at); the client must store
exactly the truth anyway."""

import glob
import os

import aclib
import lib
from lib import check


def test_ac_automation_and_live_rows_equal_truth(t):
    """Automation emails (status "1", an automation id, growing send_amt)
    are reported; live v1 rows (naive tstamp at the standard offset beside
    DST ISO values, rows without tstamp_iso or with an invalid one, rows
    naming the contact by id, bounce ISO values at local midnight, a row
    naming no contact) all land at their true instants; verified opens
    are stored and shown by `stats`."""
    sim = aclib.setup(t, ac_automations=1, ac_live=True)
    tr = aclib.truth(sim)
    autos = [c for c in tr['campaigns'] if c.get('automation')]
    check(autos and autos[0]['send_amt'] > 0 and autos[0]['uniqueopens'] > 0,
          'simulator made no automation campaign with sends: %r' % autos)
    r = aclib.sync(t)
    aclib.assert_equals_truth(t.db(), tr, what='store after live sync')
    check(any('name no contact' in ln for ln in r.err_lines()),
          'untied rows not reported at the default level: %r' %
          r.err_lines()[-5:])
    con = lib.connect(t.db())
    try:
        rows = con.execute(
            'SELECT campaign_id, status, opened_total, opened_unique, '
            'verified_opens, verified_unique_opens FROM campaigns '
            'WHERE provider = ?', (aclib.PROVIDER,)).fetchall()
    finally:
        con.close()
    by_id = {x['campaign_id']: x for x in rows}
    a = by_id.get(autos[0]['id'])
    check(a is not None and a['status'] == 'automation',
          'automation campaign stored as %r' % (a and a['status']))
    for c in tr['campaigns']:
        x = by_id[c['id']]
        want = (c['opens'] - c['opens'] // 6,
                c['uniqueopens'] - c['uniqueopens'] // 6)
        check((x['verified_opens'], x['verified_unique_opens']) == want,
              'campaign %s verified opens %r, simulator %r' %
              (c['id'], (x['verified_opens'], x['verified_unique_opens']),
               want))
    out = t.espsync('stats', expect=0).out
    check('Verified opens' in out, '`stats` shows no verified opens:\n%s'
          % out)
    # An hour later the automation has sent to new members as well.
    sim._req('POST', '/_sim/advance', {'seconds': '3600'})
    tr2 = aclib.truth(sim)
    aclib.sync(t)
    aclib.assert_equals_truth(t.db(), tr2, what='store after advance')


def test_eo_draft_with_sent_at(t):
    """A draft with a sent_at (official examples) whose summary answers
    403 (a live account): the sync succeeds and no CSV file is written
    for it."""
    sim = t.sim(draft_sent_at=True)
    t.write_env(sim)
    t.espsync('sync', expect=0)
    t.espsync('export', 'csv', expect=0)
    drafts = [c for c in sim.truth()['campaigns']
              if str(c.get('status', '')).lower() == 'draft']
    check(drafts, 'simulator truth has no draft')
    for c in drafts:
        files = glob.glob(os.path.join(t.path('data', 'exports'),
                                       'campaign_%s_*.csv' %
                                       glob.escape(c['id'])))
        check(not files, 'draft %s exported: %s' % (c['id'], files))
