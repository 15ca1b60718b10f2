"""Runs last: no API key appears in any stdout/stderr of any espsync command
of the whole suite, nor in any file left in a scratch directory (.env files
aside). Runs a few verbose commands of its own so it means something when
run alone."""

import lib
from lib import fail


def run_last(f):
    f.run_last = True
    return f


@run_last
def test_no_secret_in_output(t):
    sim = t.sim(eo_legacy_key=lib.LEGACY_KEY)
    t.write_env(sim)
    t.espsync('-v', '--json', 'sync')
    t.espsync('-v', 'sync', '--full')
    t.espsync('-v', 'check')
    t.espsync('-v', 'state', 'show')
    t.espsync('-v', 'export', 'csv')
    t.espsync('-v', 'stats')
    t.espsync('--verbose', '--stats')
    for key in (lib.WRONG_KEY, lib.LEGACY_KEY):
        t.write_env(sim, key=key)
        t.espsync('-v', 'sync')
        t.espsync('-v', '--json', 'check')
    t.espsync('-v', 'sync', env={'EMAILOCTOPUS_API_URL': sim.url,
                                 'EMAILOCTOPUS_API_KEY': lib.WRONG_KEY})
    # a config error whose offending line holds the key
    with open(t.path('.env'), 'w') as f:
        f.write('EMAILOCTOPUS_API_URL=%s\nEMAILOCTOPUS_API_KEY="%s\n' %
                (sim.url, lib.KEY))
    t.espsync('-v', 'sync')
    t.espsync('-v', 'check')
    lib.LEAKS.scan_tree(t.name, t.scratch)
    hits = sorted(set(lib.LEAKS.hits))
    t.note('%d outputs and %d files scanned' % (lib.LEAKS.outputs,
                                                 lib.LEAKS.files))
    if hits:
        fail('API key found in %d places: %s' % (len(hits), hits[0]),
             hits[1:10])
