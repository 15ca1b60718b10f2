"""Exit codes and messages: rejected keys, unknown campaigns, usage and
configuration errors, an unusable store, `check` and `stats`."""

import json
import os
import re

import lib
from lib import check, fail

UNKNOWN = '00000000-0000-4000-8000-00000000dead'


def setup(t, key=lib.KEY, **opts):
    sim = t.sim(**opts)
    t.write_env(sim, key=key)
    return sim


def assert_no_data_rows(t, db=None):
    counts = lib.data_row_counts(db or t.db())
    bad = {k: v for k, v in counts.items() if v}
    check(not bad, 'data rows written despite the failure: %s' % bad)


def key_line(r):
    pat = re.compile(r'key|credential|unauthori|401', re.I)
    lines = [ln for ln in r.err_lines() if pat.search(ln)]
    check(lines, 'no stderr line mentions the key/credentials: %r' %
          lib.mask(r.err[-300:]))
    return lines[0]


def test_invalid_key_exit_4(t):
    setup(t, key=lib.WRONG_KEY)
    r = t.espsync('sync', expect=4)
    key_line(r)
    q = t.espsync('-q', 'sync', expect=4)
    lines = q.err_lines()
    check(len(lines) == 1, 'rejected key with -q: want exactly one stderr '
          'line, got %d' % len(lines), lines[:6])
    check(len(lines[0]) < 400, 'error line is %d characters' %
          len(lines[0]))
    key_line(q)
    assert_no_data_rows(t)
    # the same through the environment instead of .env
    os.unlink(t.path('.env'))
    t.espsync('sync', env={'EMAILOCTOPUS_API_URL': t.sims[0].url,
                           'EMAILOCTOPUS_API_KEY': lib.WRONG_KEY}, expect=4)
    assert_no_data_rows(t)


def test_legacy_key_message(t):
    setup(t, key=lib.LEGACY_KEY, eo_legacy_key=lib.LEGACY_KEY)
    r = t.espsync('sync', expect=4)
    line = key_line(r)
    check(re.search(r'legacy|regenerat', r.err, re.I),
          'legacy key message mentions neither "legacy" nor "regenerate": '
          '%r' % line)
    assert_no_data_rows(t)


def test_unknown_campaign_exit_6(t):
    setup(t)
    r = t.espsync('sync', '--campaign', UNKNOWN, expect=6)
    check(UNKNOWN in r.err, 'message does not name the campaign: %r' %
          r.err_lines()[-1:])
    t.espsync('--campaign', UNKNOWN, expect=6)
    t.sync()
    t.espsync('export', 'csv', '--campaign', UNKNOWN, expect=6)


BAD_ARGS = (
    ['--no-such-flag', 'sync'],
    ['sync', '--no-such-flag'],
    ['frobnicate'],
    ['sync', '--full', '--incremental'],
    ['sync', '--incremental', '--hours', 'abc'],
    ['sync', '--provider', 'nosuchprovider'],
    ['--max-runtime', 'banana', 'sync'],
    ['--max-runtime', '-5s', 'sync'],
    ['export', 'tsv'],
    ['export', 'csv', '--csv-columns'],
    ['state', 'explode'],
    ['--all', '--stats'],
    ['--hours', 'x', '--incremental'],
    ['--store'],
)


def test_bad_flags_exit_2(t):
    setup(t)
    bad = []
    for args in BAD_ARGS:
        r = t.espsync(*args)
        if r.rc != 2 or not r.err.strip():
            bad.append('%s -> exit %s, stderr %r' % (
                ' '.join(args), r.rc, (r.err_lines() or [''])[0][:120]))
    if bad:
        fail('%d of %d bad command lines did not exit 2 with a message: %s'
             % (len(bad), len(BAD_ARGS), bad[0]), bad[1:])
    assert_no_data_rows(t)
    h = t.espsync('--help', expect=0)
    check('sync' in h.out, '--help does not mention sync')
    v = t.espsync('--version', expect=0)
    check(v.out.strip(), '--version printed nothing')


def test_malformed_env_exit_2(t):
    sim = t.sim()
    cases = {
        'unterminated quote':
            'EMAILOCTOPUS_API_URL=%s\nEMAILOCTOPUS_API_KEY="%s\n' %
            (sim.url, lib.KEY),
        'line without =':
            'EMAILOCTOPUS_API_URL=%s\nEMAILOCTOPUS_API_KEY=%s\n'
            'this is not a setting\n' % (sim.url, lib.KEY),
    }
    bad = []
    for label, text in cases.items():
        with open(t.path('.env'), 'w') as f:
            f.write(text)
        r = t.espsync('sync')
        if r.rc != 2 or not r.err.strip():
            bad.append('%s -> exit %s: %r' % (label, r.rc,
                                              r.err_lines()[-1:]))
    r = t.espsync('--env-file', t.path('missing.env'), 'sync')
    if r.rc != 2:
        bad.append('--env-file missing.env -> exit %s' % r.rc)
    if bad:
        fail('malformed configuration did not exit 2: %s' % bad[0], bad[1:])
    assert_no_data_rows(t)


def test_store_unavailable_exit_5(t):
    setup(t)
    for args in (['--store', 'sqlite:/proc/x/y.db', 'sync'],
                 ['--store', 'sqlite:' + t.scratch, 'sync'],
                 ['--store', 'sqlite:/proc/x/y.db', 'stats'],
                 ['--store', 'sqlite:/proc/x/y.db', 'export', 'csv']):
        r = t.espsync(*args)
        check(r.rc == 5, 'want exit 5, got %s' % r.describe())
        check(r.err.strip(), '%s: no message' % ' '.join(args))


def test_check_with_and_without_key(t):
    sim = setup(t)
    r = t.espsync('check', expect=0)
    text = r.out + r.err
    check(re.search('emailoctopus', text, re.I),
          '`check` output does not mention emailoctopus')
    check(re.search('sqlite', text, re.I),
          '`check` output does not mention the sqlite store')
    # URL configured, key missing
    t.write_env(sim, key=None)
    r = t.espsync('check')
    check(r.rc == 2, 'check without a key: want exit 2, got %s' %
          r.describe())
    check('EMAILOCTOPUS_API_KEY' in r.out + r.err,
          'check without a key does not name EMAILOCTOPUS_API_KEY')
    # key rejected
    t.write_env(sim, key=lib.WRONG_KEY)
    t.espsync('check', expect=4)
    assert_no_data_rows(t)


def number_after(text, label):
    m = re.search(re.escape(label) + r'\s*([0-9][0-9,]*(?:\.[0-9]+)?)', text)
    check(m, 'stats output has no %r line: %r' % (label, text[:300]))
    return float(m.group(1).replace(',', ''))


def assert_stats_lines(text, campaigns, participants, files, export_dir):
    check(number_after(text, 'Total campaigns:') == campaigns,
          'Total campaigns: want %d in %r' % (campaigns, text[:300]))
    check(number_after(text, 'Total participants:') == participants,
          'Total participants: want %d' % participants)
    avg = number_after(text, 'Avg participants/campaign:')
    want = participants / campaigns if campaigns else 0
    check(abs(avg - want) < 0.051, 'Avg participants/campaign: %s, want '
          '%.1f' % (avg, want))
    m = re.search(r'CSV exports:\s*([0-9,]+) files in (\S+)', text)
    check(m, 'stats output has no "CSV exports: N files in DIR" line')
    check(int(m.group(1).replace(',', '')) == files,
          'CSV exports: %s files, want %d' % (m.group(1), files))
    check(m.group(2).rstrip('/').endswith(export_dir),
          'CSV exports dir %r, want %r' % (m.group(2), export_dir))


def test_stats_lines(t):
    setup(t)
    t.sync()
    t.espsync('export', 'csv', expect=0)
    c = lib.count_rows(t.db(), 'campaigns')
    p = lib.count_rows(t.db(), 'participants')
    files = len([f for f in os.listdir(t.path('data', 'exports'))
                 if f.startswith('campaign_') and f.endswith('.csv')])
    r = t.espsync('stats', expect=0)
    assert_stats_lines(r.out, c, p, files, 'data/exports')
    r = t.espsync('--stats', expect=0)
    assert_stats_lines(r.out, c, p, files, 'data/exports')
    r = t.espsync('--stats', '--export-dir', 'elsewhere', expect=0)
    assert_stats_lines(r.out, c, p, 0, 'elsewhere')


def test_stats_on_empty_store(t):
    setup(t)
    r = t.espsync('stats')
    if r.rc != 0:
        fail('stats before any sync: %s' % r.describe())
    assert_stats_lines(r.out, 0, 0, 0, 'data/exports')


def test_json_summary_on_failure(t):
    """--json keeps its promise when the run fails: one JSON object on
    stdout naming the failure, NDJSON on stderr."""
    setup(t, key=lib.WRONG_KEY)
    r = t.espsync('--json', 'sync', expect=4)
    s = r.summary()
    check(lib.find_number(s, ('exit_code',)) in (None, 4),
          'summary exit_code %s, process exit 4' %
          lib.find_number(s, ('exit_code',)))
    bad = []
    for ln in r.err_lines():
        try:
            if not isinstance(json.loads(ln), dict):
                bad.append(ln)
        except ValueError:
            bad.append(ln)
    check(not bad, '--json stderr line is not a JSON object: %r' %
          (bad or [''])[0][:160])
    t.espsync('--json', 'sync', '--campaign', UNKNOWN, expect=4)
