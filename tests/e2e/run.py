#!/usr/bin/env python3
"""Runs the espsync end-to-end tests: every test_* function of every
tests/e2e/test_*.py module, each in its own scratch directory with its own
simulator. Prints one line per test and ends with "N passed, N failed".

Environment: ESPSYNC, ESPSYNC_SIM (binaries; default build/…), ESPSYNC_KEEP=1
(keep scratch directories), E2E_JOBS (parallel tests, default 2),
E2E_TIMEOUT_SCALE (multiply timeouts), E2E_CLIENT_RATE (client request
ceiling passed as ESPSYNC_RATE_EMAILOCTOPUS and
ESPSYNC_RATE_ACTIVECAMPAIGN, default 1000).
Usage: run.py [-k SUBSTRING]... [-j N] [--list]
"""

import argparse
import concurrent.futures
import importlib
import inspect
import os
import shutil
import sys
import tempfile
import threading
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402


def discover():
    here = os.path.dirname(os.path.abspath(__file__))
    tests = []
    for fn in sorted(os.listdir(here)):
        if not (fn.startswith('test_') and fn.endswith('.py')):
            continue
        mod = importlib.import_module(fn[:-3])
        funcs = [f for n, f in vars(mod).items()
                 if n.startswith('test_') and inspect.isfunction(f)
                 and f.__module__ == mod.__name__]
        funcs.sort(key=lambda f: f.__code__.co_firstlineno)
        tests += funcs
    first = [f for f in tests if not getattr(f, 'run_last', False)]
    last = [f for f in tests if getattr(f, 'run_last', False)]
    return first, last


def test_name(f):
    return f.__name__[len('test_'):]


print_lock = threading.Lock()


def emit(line, details=()):
    with print_lock:
        print(lib.mask(line), flush=True)
        for d in details:
            print('    ' + lib.mask(d)[:400], flush=True)


def run_one(f, keep):
    name = test_name(f)
    scratch = tempfile.mkdtemp(prefix='espsync-e2e-%s-' % name)
    t = lib.Context(name, scratch)
    t0 = time.monotonic()
    ok, reason, details = True, None, []
    try:
        f(t)
    except lib.Failure as e:
        ok, reason, details = False, e.reason, e.details
    except Exception as e:  # a bug in the test itself
        ok = False
        reason = 'test error: %s: %s' % (type(e).__name__, e)
        details = traceback.format_exc().splitlines()[-6:]
    finally:
        t.stop_all()
        lib.LEAKS.scan_tree(name, scratch)
    elapsed = time.monotonic() - t0
    note = (' [%s]' % '; '.join(t.notes)) if t.notes else ''
    if ok:
        emit('ok %s (%.1fs)%s' % (name, elapsed, note))
    else:
        if note:
            details = list(details) + ['notes:' + note]
        if keep:
            details = list(details) + ['scratch: %s' % scratch]
        emit('FAIL %s: %s' % (name, reason), details)
    if keep:
        if ok:
            emit('    scratch: %s' % scratch)
    else:
        shutil.rmtree(scratch, ignore_errors=True)
    return ok


def main():
    ap = argparse.ArgumentParser(description='espsync end-to-end tests')
    ap.add_argument('-k', action='append', default=[],
                    help='run tests whose name contains this (repeatable)')
    ap.add_argument('-j', type=int,
                    default=int(os.environ.get('E2E_JOBS', '2') or '2'))
    ap.add_argument('--list', action='store_true')
    args = ap.parse_args()

    first, last = discover()
    if args.k:
        def sel(f):
            return any(k in test_name(f) for k in args.k)
        first = [f for f in first if sel(f)]
        last = [f for f in last if sel(f)]
    if args.list:
        for f in first + last:
            print(test_name(f))
        return 0

    keep = os.environ.get('ESPSYNC_KEEP') == '1'
    for b in (lib.ESPSYNC, lib.SIM):
        if not os.access(b, os.X_OK):
            emit('note: %s is not an executable; tests needing it will fail'
                 % b)
    passed = failed = 0
    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max(1, args.j)) as ex:
        for ok in ex.map(lambda f: run_one(f, keep), first):
            passed += ok
            failed += not ok
    for f in last:
        ok = run_one(f, keep)
        passed += ok
        failed += not ok
    emit('(%.0fs)' % (time.monotonic() - t0))
    print('%d passed, %d failed' % (passed, failed), flush=True)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
