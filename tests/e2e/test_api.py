"""libespsync from C (issue 14): the example of docs/examples, built against
build/libespsync.a and the public header only, syncs the simulated account
and prints what `espsync sync`, `export csv` and `stats` report for the same
account; a sync cancelled from another thread stops within moments with its
checkpoints saved, and the next run completes the store."""

import os
import re
import subprocess

import lib
from lib import check, fail

LIBS = ('libcurl', 'sqlite3', 'libcjson', 'libpq', 'libmongoc-1.0',
        'libcrypto')


def build(t, source, name):
    """Compiles source (relative to the repository) against the public
    header and the static library next to the espsync binary."""
    build_dir = os.path.dirname(os.path.abspath(lib.ESPSYNC))
    archive = os.path.join(build_dir, 'libespsync.a')
    check(os.path.exists(archive), '%s is not built' % archive)
    try:
        libs = subprocess.run(['pkg-config', '--libs'] + list(LIBS),
                              capture_output=True, text=True,
                              check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError) as e:
        fail('pkg-config --libs failed: %s' % e)
    flags = []
    if os.path.basename(build_dir).endswith('-san'):
        flags = ['-fsanitize=address,undefined', '-fno-omit-frame-pointer']
    out = t.path(name)
    argv = (['cc', '-std=c11', '-Wall', '-Wextra', '-Werror', '-pthread'] +
            flags + ['-I', os.path.join(lib.REPO, 'include'),
                     os.path.join(lib.REPO, source), archive] + libs +
            ['-lm', '-o', out])
    p = subprocess.run(argv, capture_output=True, text=True)
    check(p.returncode == 0, 'cannot build %s' % source,
          p.stderr.splitlines()[:10])
    return out


def run(t, argv, env, what, timeout=120):
    e = t.base_env()
    e.update(env)
    try:
        p = subprocess.run(argv, cwd=t.scratch, env=e, capture_output=True,
                           text=True, timeout=timeout * lib.TIMEOUT_SCALE)
    except subprocess.TimeoutExpired:
        fail('%s did not end within %ss' % (what, timeout))
    lib.LEAKS.scan_text('%s: %s stdout' % (t.name, what), p.stdout)
    lib.LEAKS.scan_text('%s: %s stderr' % (t.name, what), p.stderr)
    if 'AddressSanitizer' in p.stderr or 'runtime error:' in p.stderr:
        fail('sanitizer report from %s' % what, p.stderr.splitlines()[:10])
    return p


def test_api_example_matches_cli(t):
    """The C example's sync, csv export and stats equal the command's on
    the same account, page for page, and its store equals the truth."""
    example = build(t, 'docs/examples/sync_example.c', 'sync_example')
    sim = t.sim()
    truth = sim.truth()
    os.makedirs(t.path('lib'))
    p = run(t, [example, 'sqlite:lib/espsync.db', sim.url],
            {'EMAILOCTOPUS_API_KEY': lib.KEY}, 'sync_example')
    check(p.returncode == 0, 'sync_example exit %d: %s' % (
        p.returncode, lib.mask(p.stderr.strip()[-300:])))
    check(p.stderr == '', 'sync_example wrote to stderr (the library '
          'prints nothing by default): %r' % lib.mask(p.stderr[:300]))
    lib.assert_equals_truth(t.path('lib', 'espsync.db'), truth,
                            what='store of the C example')
    check(os.path.isdir(t.path('data', 'exports')),
          'the example wrote no csv into data/exports')

    t.write_env(sim, extra='ESPSYNC_STORE=sqlite:cli/espsync.db\n'
                'ESPSYNC_EXPORT_DIR=cli/exports\n')
    r = t.sync('--json')
    pages = len([ln for ln in r.err.splitlines() if '"event":"page"' in ln])
    s = r.summary()
    csv = t.espsync('export', 'csv', '--json', expect=0).summary()
    st = t.espsync('stats', '--json', expect=0).summary()
    ev = st['events']
    want = [
        'sync complete: exit 0, %d requests, %d events, %d pages' % (
            s['providers'][0]['requests'], s['providers'][0]['events'],
            pages),
        'csv: %d files, %d rows' % (csv['files'], csv['rows']),
        'stats: %d campaigns, %d participants, %d contacts, %d lists' % (
            st['campaigns'], st['participants'], st['contacts'],
            st['lists']),
        'events: %d sent, %d opened, %d clicked' % (
            ev['sent'], ev['open'], ev['click']),
    ]
    got = p.stdout.splitlines()
    check(got == want, 'the C example and the command differ',
          ['example: %s' % x for x in got] + ['command: %s' % x for x in want])
    check(pages > 0 and st['campaigns'] > 0, 'nothing was synced: %r' % want)
    t.note(want[0])


def test_api_cancel_from_thread(t):
    """espsync_cancel from another thread while the sync waits for its
    paced requests: exit 130 within moments, the run recorded interrupted,
    and a second run completes the store to the truth."""
    prog = build(t, 'tests/e2e/api_cancel.c', 'api_cancel')
    sim = t.sim(campaigns=10)
    truth = sim.truth()
    os.makedirs(t.path('data'))
    env = {'ESPSYNC_STORE': 'sqlite:data/espsync.db',
           'EMAILOCTOPUS_API_URL': sim.url,
           'EMAILOCTOPUS_API_KEY': lib.KEY,
           # 4 requests a second, no burst: the sync mostly waits
           'ESPSYNC_RATE_EMAILOCTOPUS': '4',
           'ESPSYNC_BURST_EMAILOCTOPUS': '1'}
    p = run(t, [prog, '6'], env, 'api_cancel')
    m = re.match(r'exit (\d+), status (\w+), (-?\d+) ms after the cancel, '
                 r'(\d+) pages, (\d+) campaigns remaining', p.stdout)
    check(m is not None, 'unexpected output %r (stderr %r)' % (
        p.stdout, lib.mask(p.stderr[-300:])))
    code, status, ms = int(m.group(1)), m.group(2), int(m.group(3))
    check(code == 130 and p.returncode == 130 and status == 'interrupted',
          'cancelled sync: exit %d, status %s: %s' % (
              code, status, lib.mask(p.stderr.strip()[-300:])))
    check(0 <= ms < 2500 * lib.TIMEOUT_SCALE,
          'the sync returned %d ms after espsync_cancel' % ms)
    check('SIGINT' in p.stderr and 'state saved' in p.stderr,
          'error message %r' % lib.mask(p.stderr.strip()))
    con = lib.connect(t.db())
    status = [r[0] for r in con.execute(
        'SELECT status FROM sync_runs ORDER BY run_id')]
    con.close()
    check(status == ['interrupted'], 'runs after the cancel: %s' % status)
    t.write_env(sim)
    r = t.sync('--json')
    check(r.summary()['providers'][0]['campaigns_remaining'] == 0,
          'a complete run reports campaigns remaining')
    lib.assert_no_duplicate_events(t.db())
    lib.assert_equals_truth(t.db(), truth, what='store after a cancel and '
                            'a second run')
    t.note('stopped %d ms after the cancel, %s pages' % (ms, m.group(4)))


def test_api_partial_counts_campaigns_remaining(t):
    """A run cut short by its time budget reports the campaigns whose
    reports it did not reach (sync --json "campaigns_remaining", the
    library's summary); a complete run reports none."""
    sim = t.sim(campaigns=10)
    t.write_env(sim)
    sent = len([c for c in sim.truth()['campaigns'] if c.get('sent_at')])
    # the probe is the campaigns page: every sent campaign is listed at
    # once, and 3 s at 4 requests a second cannot read their reports
    r = t.sync('--json', '--max-runtime', '3s', expect=3,
               env={'ESPSYNC_RATE_EMAILOCTOPUS': '4',
                    'ESPSYNC_BURST_EMAILOCTOPUS': '1'})
    p = r.summary()['providers'][0]
    check(p['status'] == 'partial' and p['is_partial'],
          'a 3 s budget gave status %r' % p['status'])
    check(0 < p['campaigns_remaining'] <= sent,
          'campaigns_remaining %r after a partial run of %d sent campaigns'
          % (p['campaigns_remaining'], sent))
    r = t.sync('--json')
    check(r.summary()['providers'][0]['campaigns_remaining'] == 0,
          'a complete run reports campaigns remaining')
    store = r.summary()['providers'][0]['store']
    check(store == {'requests': 0, 'jobs': 0, 'bytes_uploaded': 0},
          'a SQLite store reports its own API use: %r' % store)
