"""The store's report reads on PostgreSQL and MongoDB: the unit test binary
build/tests/test_report_store (tests/unit/test_report_store.c, which runs on
SQLite under `make unit`) pointed at a fresh database of each, so every
backend answers the same hand-computed figures."""

import os
import subprocess

import lib
import mongoutil
import pgutil
from lib import fail

BIN = os.path.join(os.path.dirname(lib.ESPSYNC), 'tests', 'test_report_store')


def run_against(t, url):
    if not os.access(BIN, os.X_OK):
        fail('%s is missing: build it with `make unit`' % BIN)
    env = dict(os.environ, ESPSYNC_TEST_STORE_URL=url,
               CMOCKA_MESSAGE_OUTPUT='STDOUT')
    p = subprocess.run([BIN], env=env, cwd=t.scratch, capture_output=True,
                       text=True, timeout=120)
    out = p.stdout + p.stderr
    if (p.returncode != 0 or '[  PASSED  ]' not in out
            or '[  FAILED  ]' in out):
        fail('test_report_store against %s failed (exit %d)' %
             (url.split(':', 1)[0], p.returncode), out.splitlines()[-40:])


def test_report_store_postgresql(t):
    # The fixture's events are from 2024: keep them all (no retention).
    db = pgutil.new_db(t)
    c = pgutil.cluster()
    run_against(t, c.url(db, extra='?retention_days=0'))
    # The views agree with report_totals' figures for March 1-7
    # (test_totals): campaign_engagement summed over the campaigns sent in
    # the period, daily_activity over its days.
    got = c.psql(db, "SELECT count(*), sum(recipients), sum(opens),"
                 " sum(clicks), sum(bounces), sum(complaints),"
                 " sum(unsubscribes) FROM campaign_engagement"
                 " WHERE sent_at >= '2024-03-01Z' AND sent_at < '2024-03-08Z'")
    want = ['\x1f'.join(['4', '160', '65', '17', '7', '1', '5'])]
    if got != want:
        fail('campaign_engagement over March 1-7: %r, report_totals: %r' %
             (got, want))
    got = c.psql(db, "SELECT event_type, sum(events) FROM daily_activity"
                 " WHERE activity_date BETWEEN '2024-03-01' AND '2024-03-07'"
                 " GROUP BY 1 ORDER BY 1")
    want = ['bounce\x1f1', 'click\x1f2', 'open\x1f4', 'sent\x1f3',
            'unsubscribe\x1f1']
    if got != want:
        fail('daily_activity over March 1-7: %r, report_totals: %r' %
             (got, want))


def test_report_store_mongodb(t):
    srv = mongoutil.start(t)
    run_against(t, srv.url('espsync_report'))
