#!/usr/bin/env python3
"""Syncs the providers configured in a .env file into a store, writes the
campaigns' CSV files and prints the store's totals: what the earlier tool's
CampaignSync did, through libespsync. Ctrl-C stops the sync cleanly
(checkpoints saved; run it again to continue).

usage: sync_example.py [ENV_FILE [STORE [EXPORT_DIR]]]
  defaults: .env, sqlite:data/espsync.db, data/exports
Run from a checkout: PYTHONPATH=bindings/python python3 docs/examples/...
(tests/e2e/test_python.py runs this file against the simulator.)
"""

import sys

import espsync


def show(event):
    """Progress: called for every page, campaign and provider."""
    if event['kind'] == 'campaign' and not event['skipped']:
        print('  campaign %s read' % event['campaign_id'])
    elif event['kind'] == 'provider':
        r = event['result']
        print('  %s: %s after %d requests' % (r['provider'], r['status'],
                                              r['requests']))


def main(argv):
    env_file = argv[1] if len(argv) > 1 else '.env'
    store = argv[2] if len(argv) > 2 else 'sqlite:data/espsync.db'
    export_dir = argv[3] if len(argv) > 3 else 'data/exports'
    print('libespsync %s' % espsync.version())
    try:
        with espsync.Sync(store=store, export_dir=export_dir,
                          env_file=env_file, progress=show) as sync:
            stats = sync.sync_all_campaigns()
            print('Synced %d campaigns: %d events, %d requests, %.1f s'
                  % (stats['campaigns_processed'], stats['events'],
                     stats['requests'], stats['elapsed_s']))
            count = sync.export_all_to_csv()
            print('Exported %d CSV files to %s' % (count, export_dir))
            st = sync.stats()
            print('Store: %d campaigns, %d participants, %d contacts, '
                  '%d events' % (st['campaigns'], st['participants'],
                                 st['contacts'], sum(st['events'].values())))
    except KeyboardInterrupt:
        print('Interrupted: checkpoints saved, run again to continue')
        return 130
    except espsync.Error as e:
        # e.message never holds a secret.
        print('espsync: %s [%s, exit %d]' % (e.message, e.kind, e.code),
              file=sys.stderr)
        return e.code
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
