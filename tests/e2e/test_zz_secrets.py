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
    sim = t.sim(eo_legacy_key=lib.LEGACY_KEY, ac_key=lib.AC_KEY,
                ac_rate=1000, ac_burst=1000, ac_campaigns=4,
                ac_contacts=60)
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
    # ActiveCampaign: the key goes in a header on v3 and (for some
    # clients) in the api_key parameter of v1 URLs, which -v may print
    ac = ('ACTIVECAMPAIGN_API_URL=%s\nACTIVECAMPAIGN_API_KEY=%s\n'
          'ACTIVECAMPAIGN_TIMEZONE=America/Chicago\n')
    t.write_env(sim, extra=ac % (sim.url, lib.AC_KEY))
    t.espsync('-v', '--json', 'sync', '--provider', 'activecampaign')
    t.espsync('-v', 'sync', '--provider', 'all', '--full')
    t.espsync('-v', 'check')
    t.espsync('-v', '--json', 'check')
    t.espsync('-v', 'state', 'show')
    t.espsync('-v', 'stats', '--provider', 'activecampaign')
    t.espsync('-v', 'export', 'csv')
    t.write_env(sim, extra=ac % (sim.url, lib.AC_WRONG_KEY))
    t.espsync('-v', 'sync', '--provider', 'activecampaign')
    t.espsync('-v', '--json', 'sync', '--provider', 'activecampaign')
    t.espsync('-v', 'check')
    t.espsync('-v', 'sync', '--provider', 'activecampaign',
              env={'ACTIVECAMPAIGN_API_URL': sim.url,
                   'ACTIVECAMPAIGN_API_KEY': lib.AC_WRONG_KEY})
    with open(t.path('.env'), 'w') as f:
        f.write('ACTIVECAMPAIGN_API_URL=%s\nACTIVECAMPAIGN_API_KEY="%s\n' %
                (sim.url, lib.AC_KEY))
    t.espsync('-v', 'sync', '--provider', 'activecampaign')
    t.espsync('-v', 'check')
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
