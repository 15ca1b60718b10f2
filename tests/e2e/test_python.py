"""The Python bindings (bindings/python, issue 14) run by Debian's python3
against the simulator through the shared library: the ctypes structs match
the header; docs/examples/sync_example.py syncs the account to the truth and
its numbers equal `espsync --json stats` on the same store; sync_campaign of
a real and an unknown id; the errors are the classes of the exit codes and
hold no secret; the export count is the files on disk; SIGINT during a sync
is a KeyboardInterrupt after a clean stop, and a re-run completes with no
duplicate event.

The tests that load the library need libespsync.so.0 next to the espsync
binary under test (build/ or build-san/); without it they pass with a
"skipped" note saying so."""

import glob
import json
import os
import signal
import sqlite3
import subprocess
import sys

import lib
from lib import check, fail

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = lib.REPO
BINDINGS = os.path.join(REPO, 'bindings', 'python')
EXAMPLE = os.path.join(REPO, 'docs', 'examples', 'sync_example.py')
CLIENT = os.path.join(HERE, 'pyclient.py')
# Debian's interpreter; another one only where there is none.
PYTHON = '/usr/bin/python3' if os.access('/usr/bin/python3', os.X_OK) \
    else sys.executable


def so_path():
    return os.path.join(os.path.dirname(os.path.abspath(lib.ESPSYNC)),
                        'libespsync.so.0')


def need_so(t):
    """The shared library's path, or None (the test is then skipped with a
    note: the library is not built)."""
    so = so_path()
    if os.path.exists(so):
        return so
    t.note('skipped: %s is not built' % os.path.relpath(so, REPO))
    return None


def sanitizer_env(so):
    """A sanitized library loads into python3 only after its runtime."""
    with open(so, 'rb') as f:
        if b'libasan.so' not in f.read():
            return {}
    cc = os.environ.get('CC') or 'cc'
    rt = subprocess.run([cc, '-print-file-name=libasan.so'],
                        capture_output=True, text=True).stdout.strip()
    opts = os.environ.get('ASAN_OPTIONS', '')
    return {'LD_PRELOAD': rt,
            'ASAN_OPTIONS': (opts + ':' if opts else '') + 'detect_leaks=0'}


def py_env(t, so, extra=None):
    e = t.base_env()
    e['PYTHONPATH'] = BINDINGS
    e['PYTHONUNBUFFERED'] = '1'
    e['PYTHONDONTWRITEBYTECODE'] = '1'
    if so:
        e['ESPSYNC_LIBRARY'] = so
        e.update(sanitizer_env(so))
    for k, v in (extra or {}).items():
        if v is None:
            e.pop(k, None)
        else:
            e[k] = v
    return e


def scan(t, what, out, err):
    lib.LEAKS.scan_text('%s: %s stdout' % (t.name, what), out)
    lib.LEAKS.scan_text('%s: %s stderr' % (t.name, what), err)
    if 'AddressSanitizer' in err or 'runtime error:' in err:
        fail('sanitizer report from %s' % what, err.splitlines()[:10])


def run_py(t, argv, so, what, env=None, timeout=120):
    try:
        p = subprocess.run([PYTHON] + argv, cwd=t.scratch,
                           env=py_env(t, so, env), stdin=subprocess.DEVNULL,
                           capture_output=True, text=True,
                           timeout=timeout * lib.TIMEOUT_SCALE)
    except subprocess.TimeoutExpired:
        fail('%s did not end within %ss' % (what, timeout))
    scan(t, what, p.stdout, p.stderr)
    return p


def client(t, so, spec, env=None, what=None):
    """Runs pyclient.py with spec; its JSON output."""
    what = what or 'pyclient %s' % ','.join(c[0] for c in spec['calls'])
    p = run_py(t, [CLIENT, json.dumps(spec)], so, what, env=env)
    check(p.returncode == 0, '%s exited %d: %s' % (
        what, p.returncode, lib.mask(p.stderr.strip()[-400:])))
    try:
        return json.loads(p.stdout)
    except ValueError:
        fail('%s printed no JSON: %r' % (what, lib.mask(p.stdout[:300])))


def ok(res, i, what):
    r = res['results']
    check(len(r) > i, '%s: no result %d: %s' % (what, i, r))
    check('ok' in r[i], '%s failed: %s' % (what, r[i].get('error')))
    return r[i]['ok']


def error_of(res, what):
    r = res['results']
    check(r and 'error' in r[-1], '%s did not fail: %s' % (
        what, str(r)[:300]))
    return r[-1]['error']


def sent_campaigns(truth):
    return [c['id'] for c in truth['campaigns'] if c.get('sent_at')]


def setup(t, **sim_opts):
    sim = t.sim(**sim_opts)
    t.write_env(sim)
    return sim


def init(**kw):
    d = {'env_file': '.env', 'store': 'sqlite:data/espsync.db',
         'settings': {'ESPSYNC_RATE_EMAILOCTOPUS': lib.CLIENT_RATE}}
    d.update(kw)
    return d


# ---------------------------------------------------------------- tests

def test_python_struct_layout(t):
    """Every ctypes struct has the size and field offsets a C compiler
    gives the header's struct (no library needed)."""
    code = ('import json, ctypes, espsync\n'
            'print(json.dumps({n: [ctypes.sizeof(c)] + '
            '[[f[0], getattr(c, f[0]).offset] for f in c._fields_] '
            'for n, c in espsync.STRUCTS.items()}))\n')
    p = run_py(t, ['-c', code], None, 'python3 struct layout',
               env={'ESPSYNC_LIBRARY': None})
    check(p.returncode == 0, 'import espsync failed: %s' %
          p.stderr.strip()[-300:])
    layout = json.loads(p.stdout)
    check(len(layout) == 8, 'STRUCTS has %d structs, the header 8'
          % len(layout))
    src = ['#include <stddef.h>', '#include <stdio.h>', '#include '
           '"espsync.h"', 'int main(void)', '{']
    want = []
    for name, v in sorted(layout.items()):
        src.append('\tprintf("%%zu\\n", sizeof(struct %s));' % name)
        want.append('%s size %d' % (name, v[0]))
        for field, off in v[1:]:
            src.append('\tprintf("%%zu\\n", offsetof(struct %s, %s));' %
                       (name, field))
            want.append('%s.%s offset %d' % (name, field, off))
    src += ['\treturn 0;', '}', '']
    c = t.path('layout.c')
    with open(c, 'w') as f:
        f.write('\n'.join(src))
    exe = t.path('layout')
    cc = subprocess.run([os.environ.get('CC') or 'cc', '-std=c11', '-Wall',
                         '-Werror', '-I', os.path.join(REPO, 'include'),
                         '-o', exe, c], capture_output=True, text=True)
    check(cc.returncode == 0, 'a field of the ctypes structs is not in the '
          'header: %s' % cc.stderr.strip()[:400])
    got = subprocess.run([exe], capture_output=True, text=True).stdout
    got = got.split()
    check(len(got) == len(want), 'layout program printed %d numbers, want '
          '%d' % (len(got), len(want)))
    bad = [w for w, g in zip(want, got) if int(w.split()[-1]) != int(g)]
    check(not bad, '%d ctypes sizes/offsets differ from C, e.g. %s (C: %s)'
          % (len(bad), bad[:1], [g for w, g in zip(want, got)
                                 if int(w.split()[-1]) != int(g)][:1]))
    t.note('%d structs, %d fields match' % (len(layout), len(want) -
                                            len(layout)))


def test_python_example_matches_cli(t):
    """docs/examples/sync_example.py syncs the account to the truth; its
    numbers, Sync.stats() and the export count equal the CLI's `--json
    stats` on the same store and the files on disk."""
    so = need_so(t)
    if not so:
        return
    sim = setup(t)
    truth = sim.truth()
    p = run_py(t, [EXAMPLE], so, 'sync_example.py')
    check(p.returncode == 0, 'sync_example.py exited %d: %s' % (
        p.returncode, lib.mask((p.stderr or p.stdout).strip()[-400:])))
    lib.assert_equals_truth(t.db(), truth, what='store synced by Python')
    lib.assert_no_duplicate_events(t.db())
    out = p.stdout
    lines = out.splitlines()
    sent = sent_campaigns(truth)
    read = [ln for ln in lines if ln.strip().startswith('campaign ')]
    check(len(read) == len(sent), 'progress showed %d campaigns read, the '
          'account has %d sent' % (len(read), len(sent)))
    synced = [ln for ln in lines if ln.startswith('Synced ')]
    check(synced and synced[0].startswith('Synced %d campaigns: %d events'
                                          % (len(sent),
                                             len(truth['events']))),
          'summary line %r; want %d campaigns, %d events' % (
              synced[:1], len(sent), len(truth['events'])))
    files = glob.glob(t.path('data', 'exports', 'campaign_*.csv'))
    check('Exported %d CSV files to data/exports' % len(files) in out,
          'export line does not say the %d files on disk: %r' % (
              len(files), out[-300:]))
    check(len(files) == len(sent), '%d csv files, %d sent campaigns' % (
        len(files), len(sent)))
    # the same store through Sync.stats() and through the CLI
    res = client(t, so, {'init': init(), 'calls': [['stats', {}]]})
    py = ok(res, 0, 'stats()')
    cli = t.espsync('--json', 'stats', expect=0).summary()
    keys = ('campaigns', 'participants', 'avg_participants_per_campaign',
            'links', 'contacts', 'lists', 'events', 'retention_days',
            'events_outside_retention', 'verified_opens')
    diff = [k for k in keys if py.get(k) != cli.get(k)]
    check(not diff, 'stats() differs from `espsync --json stats` in %s: '
          'python %s, cli %s' % (diff, [py.get(k) for k in diff],
                                 [cli.get(k) for k in diff]))
    check(py['csv_exports']['files'] == cli['csv_exports']['files'] ==
          len(files), 'csv files: python %s, cli %s, disk %d' % (
              py['csv_exports'], cli['csv_exports'], len(files)))
    lr = {k: cli['last_run'].get(k) for k in py['last_run']}
    check(py['last_run'] == lr, 'last_run: python %s, cli %s' % (
        py['last_run'], lr))
    check(sum(py['events'].values()) == len(truth['events']),
          'stats() counts %d events, the truth has %d' % (
              sum(py['events'].values()), len(truth['events'])))
    shown = [ln for ln in lines if ln.startswith('Store: ')]
    check(shown == ['Store: %d campaigns, %d participants, %d contacts, '
                    '%d events' % (cli['campaigns'], cli['participants'],
                                   cli['contacts'],
                                   sum(cli['events'].values()))],
          'the example\'s store line %r differs from the CLI\'s stats'
          % shown)
    check(res['api_version'] == 1 and res['library'] == so,
          'loaded %s (api %s), want %s' % (res['library'],
                                           res['api_version'], so))
    t.note('%d campaigns, %d events, %d files' % (
        len(sent), len(truth['events']), len(files)))


def test_python_sync_dict_and_progress(t):
    """sync_all_campaigns' dict agrees with the store and the simulator
    (requests), the progress events with the dict; a second run reads
    nothing new; state_reset and check answer."""
    so = need_so(t)
    if not so:
        return
    sim = setup(t)
    truth = sim.truth()
    sim.reset_stats()
    res = client(t, so, {'init': init(), 'progress': 'collect',
                         'calls': [['sync_all_campaigns', {}],
                                   ['sync_all_campaigns', {}],
                                   ['sync_incremental', {'hours': 24}],
                                   ['check', {}],
                                   ['state_reset', {}]]})
    first = ok(res, 0, 'sync_all_campaigns()')
    second = ok(res, 1, 'second sync_all_campaigns()')
    lib.assert_equals_truth(t.db(), truth, what='store')
    served = lib.requests_of(sim.stats())
    check(first['status'] == 'complete' and first['exit_code'] == 0,
          'first sync: %s %s' % (first['status'], first['exit_code']))
    inc = ok(res, 2, 'sync_incremental(hours=24)')
    check(first['requests'] + second['requests'] + inc['requests'] + 1 ==
          served, 'the syncs counted %d + %d + %d requests (+1 check), '
          'the simulator served %d' % (first['requests'], second['requests'],
                                       inc['requests'], served))
    check(first['events'] == len(truth['events']), 'first sync: %d events, '
          'truth %d' % (first['events'], len(truth['events'])))
    check(first['campaigns_processed'] == len(sent_campaigns(truth)),
          'campaigns_processed %d, sent campaigns %d' % (
              first['campaigns_processed'], len(sent_campaigns(truth))))
    provs = first['providers']
    check(len(provs) == 1 and provs[0]['provider'] == lib.PROVIDER,
          'providers: %s' % [p['provider'] for p in provs])
    pr = provs[0]
    check(pr['records']['campaigns'] == len(truth['campaigns']) and
          pr['records']['contacts'] == len(truth['contacts']),
          'records %s; truth %d campaigns, %d contacts' % (
              pr['records'], len(truth['campaigns']),
              len(truth['contacts'])))
    con = sqlite3.connect(t.db())
    runs = con.execute('SELECT run_id, status FROM sync_runs ORDER BY '
                       'run_id').fetchall()
    con.close()
    ids = [d['providers'][0]['run_id'] for d in (first, second, inc)]
    check(runs == [(i, 'complete') for i in ids], 'run ids %s, sync_runs '
          '%s' % (ids, runs))
    check(second['events'] == 0 and second['rows_inserted'] == 0,
          'a re-run read %d events and inserted %d rows' % (
              second['events'], second['rows_inserted']))
    evs = res['events']
    kinds = [e['kind'] for e in evs]
    check('provider' in kinds, 'no provider event: %s' % kinds[:20])
    pages = [e for e in evs[:kinds.index('provider')] if e['kind'] == 'page']
    for stream in ('campaigns', 'contacts', 'lists'):
        n = sum(e['records'] for e in pages if e['stream'] == stream)
        check(n == pr['records'][stream], 'page events hold %d %s, the '
              'summary %d' % (n, stream, pr['records'][stream]))
    done = [e for e in evs if e['kind'] == 'provider']
    check(len(done) == 3 and done[0]['result']['requests'] ==
          pr['requests'], 'provider events: %s' % [
              (e['result'] or {}).get('requests') for e in done])
    nsent = len(sent_campaigns(truth))
    check(inc['campaigns_processed'] == 0 and
          inc['campaigns_skipped'] >= nsent and inc['events'] == 0,
          'sync_incremental(24) right after a sync: %d processed, %d '
          'skipped (%d sent), %d events' % (
              inc['campaigns_processed'], inc['campaigns_skipped'], nsent,
              inc['events']))
    items = ok(res, 3, 'check()')
    prov = [i for i in items if i['section'] == 'provider' and
            i['name'] == lib.PROVIDER]
    check(len(prov) == 1 and prov[0]['exit_code'] == 0 and
          prov[0]['http_status'] == 200, 'check() %s lines: %s' % (
              lib.PROVIDER, prov))
    check(any(i['section'] == 'store' for i in items),
          'check() has no store line: %s' % items)
    removed = ok(res, 4, 'state_reset()')
    check(isinstance(removed, int) and removed > 0,
          'state_reset() removed %r checkpoints' % removed)
    t.note('%d requests, %d progress events, %d checkpoints reset' % (
        first['requests'], len(evs), removed))


def test_python_sync_campaign(t):
    """sync_campaign(id) stores that campaign only; an unknown id raises
    NotFound (exit code 6) naming it."""
    so = need_so(t)
    if not so:
        return
    sim = setup(t)
    truth = sim.truth()
    cid = sent_campaigns(truth)[0]
    res = client(t, so, {'init': init(),
                         'calls': [['sync_campaign', {'campaign_id': cid}]]})
    d = ok(res, 0, 'sync_campaign(%s)' % cid)
    check(d['campaigns_processed'] == 1, 'sync_campaign processed %d '
          'campaigns' % d['campaigns_processed'])
    lib.assert_equals_truth(t.db(), truth, what='store after sync_campaign',
                            campaign=cid)
    unknown = '00000000-0000-4000-8000-00000000dead'
    res = client(t, so, {'init': init(),
                         'calls': [['sync_campaign',
                                    {'campaign_id': unknown}]]})
    e = error_of(res, 'sync_campaign(unknown)')
    check(e['class'] == 'NotFound' and e['code'] == 6 and e['is_error'],
          'unknown campaign raised %s (code %s): %s' % (
              e['class'], e.get('code'), e.get('message')))
    check(unknown in e['message'], 'NotFound message does not name the '
          'campaign: %r' % e['message'])


def test_python_errors(t):
    """A wrong key is AuthRejected (4) without the key in the message; an
    unreachable PostgreSQL store is StoreUnavailable (5) without its
    password; an unknown setting is UsageError (2); a missing explicit
    library is OSError, nothing else tried."""
    so = need_so(t)
    if not so:
        return
    sim = setup(t)
    t.write_env(sim, key=lib.WRONG_KEY, name='wrong.env')
    res = client(t, so, {'init': init(env_file='wrong.env'),
                         'calls': [['sync_all_campaigns', {}]]})
    e = error_of(res, 'sync with a wrong key')
    check(e['class'] == 'AuthRejected' and e['code'] == 4 and
          e['kind'] == 'auth', 'wrong key raised %s (code %s, kind %s): %s'
          % (e['class'], e.get('code'), e.get('kind'),
             lib.mask(e.get('message'))))
    for s in lib.SECRETS:
        check(s not in json.dumps(res), 'the key is in the error or '
              'summary: %s' % lib.mask(e['message']))
    check(e['summary'] and e['summary']['exit_code'] == 4,
          'AuthRejected carries no summary: %s' % e['summary'])

    import pgutil
    pw = pgutil.PASSWORD
    url = 'postgresql://espsync:%s@127.0.0.1:%d/nothere' % (
        pw, pgutil.free_port())
    sim.reset_stats()
    res = client(t, so, {'init': init(store=url),
                         'calls': [['sync_all_campaigns', {}]]})
    e = error_of(res, 'sync into an unreachable store')
    check(e['class'] == 'StoreUnavailable' and e['code'] == 5,
          'unreachable store raised %s (code %s): %s' % (
              e['class'], e.get('code'), e.get('message')))
    check(pw not in json.dumps(res), 'the store password is in the '
          'error: %r' % e['message'].replace(pw, '<PW>'))
    check('127.0.0.1' in e['message'], 'the error does not name the '
          'store: %r' % e['message'])
    check(lib.requests_of(sim.stats()) == 0, 'the API was called although '
          'the store is down')
    res = client(t, so, {'init': init(store=url), 'calls': [['stats', {}]]})
    e = error_of(res, 'stats of an unreachable store')
    check(e['class'] == 'StoreUnavailable', 'stats() raised %s' %
          e['class'])

    res = client(t, so, {'init': init(settings={'NO_SUCH_KEY': '1'}),
                         'calls': []})
    e = error_of(res, 'an unknown setting')
    check(e['class'] == 'UsageError' and e['code'] == 2 and
          'NO_SUCH_KEY' in e['message'], 'unknown setting raised %s (%s): '
          '%s' % (e['class'], e.get('code'), e.get('message')))

    missing = t.path('no', 'libespsync.so.0')
    res = client(t, so, {'init': init(), 'calls': []},
                 env={'ESPSYNC_LIBRARY': missing})
    e = error_of(res, 'a missing ESPSYNC_LIBRARY')
    check(e['class'] == 'OSError' and missing in e['message'] and
          'load_error' in res, 'a missing explicit library gave %s: %s'
          % (e['class'], e.get('message')))


def test_python_export_count(t):
    """export_all_to_csv() returns the files it wrote: the files on disk;
    a campaign's export is one file; an unknown campaign is NotFound."""
    so = need_so(t)
    if not so:
        return
    sim = setup(t)
    truth = sim.truth()
    cid = sent_campaigns(truth)[1]
    res = client(t, so, {'init': init(export_dir='out/csv'), 'calls': [
        ['sync_all_campaigns', {}],
        ['export_all_to_csv', {}],
        ['export_all_to_csv', {'export_dir': 'one', 'campaign_id': cid}],
        ['stats', {}],
        ['export_all_to_csv', {'campaign_id': 'no-such-campaign'}]]})
    n = ok(res, 1, 'export_all_to_csv()')
    files = sorted(glob.glob(t.path('out', 'csv', '*.csv')))
    check(n == len(files) and n == len(sent_campaigns(truth)),
          'export_all_to_csv() returned %s; %d files on disk, %d sent '
          'campaigns' % (n, len(files), len(sent_campaigns(truth))))
    one = ok(res, 2, 'export_all_to_csv(campaign_id)')
    on_disk = glob.glob(t.path('one', '*.csv'))
    check(one == 1 and len(on_disk) == 1 and cid in on_disk[0],
          'one campaign: returned %s, files %s' % (one, on_disk))
    st = ok(res, 3, 'stats()')
    check(st['csv_exports']['files'] == len(files), 'stats() counts %d csv '
          'files in the export dir, %d there' % (
              st['csv_exports']['files'], len(files)))
    e = error_of(res, 'export of an unknown campaign')
    check(e['class'] == 'NotFound', 'unknown campaign export raised %s: %s'
          % (e['class'], e.get('message')))
    t.note('%d files' % n)


def test_python_keyboard_interrupt(t):
    """SIGINT to sync_example.py during a slow sync: KeyboardInterrupt
    reaches the script after the sync stopped cleanly (run recorded
    interrupted, no duplicate); a re-run completes to the truth."""
    so = need_so(t)
    if not so:
        return
    sim = setup(t, latency_ms=300, campaigns=10)
    truth = sim.truth()
    p = subprocess.Popen([PYTHON, EXAMPLE], cwd=t.scratch,
                         env=py_env(t, so), stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    seen = []
    try:
        # the first campaign read: the sync is under way, not finished
        for ln in p.stdout:
            seen.append(ln)
            if ln.strip().startswith('campaign '):
                break
        check(p.poll() is None, 'the example ended before a campaign was '
              'read: %r' % seen[-3:])
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60 * lib.TIMEOUT_SCALE)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        fail('the example did not stop within 60 s of SIGINT')
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    out = ''.join(seen) + out
    scan(t, 'sync_example.py (SIGINT)', out, err)
    check(p.returncode == 130, 'the example exited %d after SIGINT, not '
          '130 from its KeyboardInterrupt handler: %s' % (
              p.returncode, lib.mask(err.strip()[-400:])))
    check('Interrupted: checkpoints saved' in out and 'Traceback' not in
          err, 'no clean KeyboardInterrupt: %r %r' % (out[-200:],
                                                     err[-300:]))
    check('Synced ' not in out, 'the sync ran to its end: %r' % out[-200:])
    con = sqlite3.connect(t.db())
    runs = [r[0] for r in con.execute('SELECT status FROM sync_runs')]
    con.close()
    check(runs == ['interrupted'], 'sync_runs after SIGINT: %s' % runs)
    lib.assert_no_duplicate_events(t.db())
    partial = lib.count_rows(t.db(), 'email_activities')
    check(partial < len(truth['events']), 'all %d events were stored before '
          'the interrupt' % partial)
    p2 = run_py(t, [EXAMPLE], so, 'sync_example.py (re-run)', timeout=180)
    check(p2.returncode == 0, 're-run exited %d: %s' % (
        p2.returncode, lib.mask(p2.stderr.strip()[-300:])))
    lib.assert_equals_truth(t.db(), truth, what='store after SIGINT and '
                            're-run')
    lib.assert_no_duplicate_events(t.db())
    t.note('interrupted with %d of %d events stored' % (
        partial, len(truth['events'])))


def test_python_progress_exception(t):
    """An exception raised by the progress callback stops the sync (run
    interrupted, no duplicate) and is raised by sync_all_campaigns; the
    next sync completes."""
    so = need_so(t)
    if not so:
        return
    sim = setup(t)
    truth = sim.truth()
    res = client(t, so, {'init': init(), 'progress': 'raise_after:3',
                         'calls': [['sync_all_campaigns', {}]]})
    e = error_of(res, 'a raising progress callback')
    check(e['class'] == 'Stop', 'the callback\'s exception became %s: %s'
          % (e['class'], e.get('message')))
    s = res['results'][-1].get('last_summary') or {}
    check(s.get('status') == 'interrupted', 'summary after the callback '
          'raised: %s' % s.get('status'))
    lib.assert_no_duplicate_events(t.db())
    res = client(t, so, {'init': init(), 'calls': [['sync_all_campaigns',
                                                    {}]]})
    ok(res, 0, 'sync after the callback raised')
    lib.assert_equals_truth(t.db(), truth, what='store after resume')


def test_python_partial_and_cancel(t):
    """A time budget that ends a slow sync raises Partial carrying the
    summary (campaigns_remaining); Sync.cancel(SIGTERM) from the progress
    callable raises Interrupted with code 143; the next sync completes
    with no duplicate event."""
    so = need_so(t)
    if not so:
        return
    sim = setup(t, latency_ms=300, campaigns=10)
    truth = sim.truth()
    res = client(t, so, {'init': init(), 'calls': [
        ['sync_all_campaigns', {'max_runtime': 1}]]})
    e = error_of(res, 'a sync with a 1 s budget')
    check(e['class'] == 'Partial' and e['code'] == 3,
          'the budget raised %s (code %s): %s' % (
              e['class'], e.get('code'), e.get('message')))
    s = e['summary'] or {}
    check(s.get('status') == 'partial' and
          s.get('campaigns_remaining', 0) > 0,
          'Partial summary: status %r, campaigns_remaining %r' % (
              s.get('status'), s.get('campaigns_remaining')))
    lib.assert_no_duplicate_events(t.db())
    res = client(t, so, {'init': init(), 'progress': 'cancel_after:3',
                         'calls': [['sync_all_campaigns', {}]]})
    e = error_of(res, 'a sync cancelled with SIGTERM')
    check(e['class'] == 'Interrupted' and e['code'] == 143 and
          (e['summary'] or {}).get('status') == 'interrupted',
          'cancel(SIGTERM) raised %s (code %s, status %s)' % (
              e['class'], e.get('code'),
              (e['summary'] or {}).get('status')))
    res = client(t, so, {'init': init(), 'calls': [['sync_all_campaigns',
                                                    {}]]})
    ok(res, 0, 'sync after Partial and Interrupted')
    lib.assert_equals_truth(t.db(), truth, what='store after resume')
    lib.assert_no_duplicate_events(t.db())
    con = sqlite3.connect(t.db())
    runs = [r[0] for r in con.execute('SELECT status FROM sync_runs ORDER '
                                      'BY run_id')]
    con.close()
    check(runs == ['partial', 'interrupted', 'complete'],
          'sync_runs: %s' % runs)


def code_blocks(path, lang='python'):
    with open(path) as f:
        text = f.read()
    parts = text.split('```%s\n' % lang)[1:]
    return [p.split('```', 1)[0] for p in parts]


def test_python_docs_show_the_example(t):
    """docs/library.md shows docs/examples/sync_example.py as it is, and
    the README's Python lines are lines of it (no untested snippet)."""
    with open(EXAMPLE) as f:
        example = f.read()
    blocks = code_blocks(os.path.join(REPO, 'docs', 'library.md'))
    check(blocks and blocks[0] == example, 'the Python block of '
          'docs/library.md is not docs/examples/sync_example.py')
    check(len(blocks) == 1, 'docs/library.md has %d Python blocks; only '
          'the example is run by the tests' % len(blocks))
    lines = {ln.strip() for ln in example.splitlines()}
    for doc in ('README.md', os.path.join('bindings', 'python',
                                          'README.md')):
        for b in code_blocks(os.path.join(REPO, doc)):
            bad = [ln for ln in b.splitlines()
                   if ln.strip() and ln.strip() not in lines]
            check(not bad, '%s shows Python lines the example does not '
                  'run: %s' % (doc, bad[:3]))


def test_python_finds_build_library(t):
    """Without ESPSYNC_LIBRARY, a checkout's bindings load
    build/libespsync.so.0."""
    so = need_so(t)
    if not so:
        return
    built = os.path.join(REPO, 'build', 'libespsync.so.0')
    if not os.path.exists(built):
        t.note('skipped: build/libespsync.so.0 is not built')
        return
    code = 'import espsync; print(espsync.library_path())'
    p = run_py(t, ['-c', code], None, 'python3 library_path',
               env={'ESPSYNC_LIBRARY': None})
    check(p.returncode == 0 and p.stdout.strip() == built,
          'library_path() without ESPSYNC_LIBRARY: %r (exit %d), want %s'
          % (p.stdout.strip() or p.stderr.strip()[-200:], p.returncode,
             built))

