#!/usr/bin/env python3
"""PostgreSQL load benchmark (issue 4, part 6).

Starts a throwaway PostgreSQL 15 cluster (tests/e2e/pgutil.py, fsync on),
builds bench/pg_load.c against build/libespsync.a, then, --repeat times
(median reported), each on a fresh database after a CHECKPOINT:

1. store: N synthetic events through store_ops.write_batch in batches of B
   (default 100: one API page, what a sync commits at once) with one
   checkpoint each; time spent inside write_batch. The first database is
   loaded a second time (every event stored: the merge path);
2. ceiling: plain COPY of the same rows into an unindexed, unpartitioned
   table (psql \\copy from the file pg_load wrote);
3. reference: the same COPY into a partitioned table shaped like
   email_activities (30 daily partitions, the primary key and the
   (contact_email, campaign_id, event_type) index): what the indexes cost.

Then merge vs insert: --merge-events rows staged once, moved B rows per
transaction into a fresh partitioned table with INSERT ... ON CONFLICT DO
NOTHING and with MERGE ... WHEN NOT MATCHED THEN INSERT, then once more
(every row a conflict).

Usage: bench/pg_load.py [--events N] [--batch B] [--repeat R]
       [--merge-events M] [--build DIR]
Prints one line per figure and a Markdown table for bench/RESULTS.md.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, 'tests', 'e2e'))
import pgutil  # noqa: E402


def build(build_dir, out):
    lib_a = os.path.join(REPO, build_dir, 'libespsync.a')
    if not os.path.exists(lib_a):
        sys.exit('pg_load: %s is missing: run make first' % lib_a)
    pkgs = subprocess.run(['make', '-s', '--no-print-directory', '-C', REPO,
                           'print-pkgs'], capture_output=True,
                          check=True).stdout.split()
    pk = subprocess.run(['pkg-config', '--cflags', '--libs'] + pkgs,
                        capture_output=True, check=True).stdout.split()
    subprocess.run(['cc', '-std=c11', '-D_DEFAULT_SOURCE',
                    '-D_POSIX_C_SOURCE=200809L', '-O2', '-I',
                    os.path.join(REPO, 'src'), '-o', out,
                    os.path.join(HERE, 'pg_load.c'), lib_a] +
                   [x.decode() for x in pk] + ['-lm'], check=True)


def timed_psql(c, db, sql):
    t0 = time.monotonic()
    c.psql(db, sql)
    return time.monotonic() - t0


def timed_script(c, db, path):
    env = dict(os.environ, PGPASSWORD=pgutil.PASSWORD)
    t0 = time.monotonic()
    subprocess.run([os.path.join(pgutil.PG_BIN, 'psql'), '-X', '-q',
                    '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p',
                    str(c.port), '-U', 'postgres', '-d', db, '-f', path],
                   env=env, check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - t0


COLS = ('event_id, activity_date, provider, account, campaign_id, '
        'campaign_name, contact_id, contact_email, event_type, '
        'activity_timestamp, times, link_url, bounce_type')


def checkpoint(c, db):
    """Flushes dirty buffers so each measure starts from a clean server."""
    c.psql(db, 'CHECKPOINT')


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


CEILING_DDL = ('CREATE TABLE ceiling (event_id text, activity_date date, '
               'provider text, account text, campaign_id text, '
               'campaign_name text, contact_id text, contact_email text, '
               'event_type text, activity_timestamp timestamptz, times '
               'bigint, link_url text, bounce_type text)')

# email_activities as the store creates it, for the "COPY into the same
# partitioned, indexed table" reference
INDEXED_DDL = ('CREATE TABLE ea (event_id text COLLATE "C" NOT NULL, '
               'activity_date date NOT NULL, provider text COLLATE "C", '
               'account text COLLATE "C", campaign_id text COLLATE "C", '
               'campaign_name text COLLATE "C", contact_id text COLLATE '
               '"C", contact_email text COLLATE "C", event_type text '
               'COLLATE "C", activity_timestamp timestamptz, times bigint, '
               'link_url text COLLATE "C", bounce_type text COLLATE "C", '
               'created_at timestamptz, updated_at timestamptz, '
               'PRIMARY KEY (event_id, activity_date)) PARTITION BY RANGE '
               '(activity_date); CREATE TABLE ea_default PARTITION OF ea '
               'DEFAULT; CREATE INDEX ON ea (contact_email, campaign_id, '
               'event_type); '
               "DO $$ BEGIN FOR i IN 0..29 LOOP EXECUTE format("
               "'CREATE TABLE ea_%s PARTITION OF ea FOR VALUES FROM "
               "(%L) TO (%L)', i, date '2026-01-01' + i, "
               "date '2026-01-01' + i + 1); END LOOP; END $$")


def run_store(c, drv, n, b, db, rows=None):
    argv = [drv, '--events', str(n), '--batch', str(b)]
    if rows:
        argv += ['--copy-file', rows]
    p = subprocess.run(argv + [c.url(db)], capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit('pg_load failed: %s' % p.stderr.strip())
    f = p.stdout.split()
    return (float(f[f.index('seconds') + 1]), int(f[f.index('inserted') + 1]),
            float(f[f.index('all') + 1]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--events', type=int, default=1000000)
    ap.add_argument('--batch', type=int, default=100,
                    help='events per write_batch (a sync writes one API '
                    'page, 100 records, per batch)')
    ap.add_argument('--repeat', type=int, default=3)
    ap.add_argument('--merge-events', type=int, default=100000,
                    help='events for INSERT ON CONFLICT vs MERGE (0: skip)')
    ap.add_argument('--build', default='build')
    args = ap.parse_args()
    n, b = args.events, args.batch

    work = tempfile.mkdtemp(prefix='espsync-pgbench-')
    os.chmod(work, 0o755)
    drv = os.path.join(work, 'pg_load')
    build(args.build, drv)
    rows = os.path.join(work, 'rows.copy')
    c = pgutil.Cluster(fsync=True)
    c.start()
    try:
        # Each measure: a fresh database (or table), CHECKPOINT first, the
        # median of --repeat runs; store and ceiling runs alternate so that
        # neither gets a quieter disk.
        store, ceil, idx = [], [], []
        for k in range(args.repeat):
            db = c.createdb('bench_store_%d' % k)
            checkpoint(c, db)
            sec, ins, total = run_store(c, drv, n, b, db,
                                        rows if k == 0 else None)
            if ins != n:
                sys.exit('store inserted %d of %d events' % (ins, n))
            store.append(sec)
            print('store run %d: %.2f s in write_batch (%.2f s with making '
                  'the events) = %.0f events/s' % (k + 1, sec, total,
                                                   n / sec), flush=True)
            if k == 0:
                checkpoint(c, db)
                rerun, ins2, _ = run_store(c, drv, n, b, db)
                if ins2 != 0:
                    sys.exit('re-run inserted %d events' % ins2)
                print('store re-run, every event stored: %.2f s = %.0f '
                      "events/s" % (rerun, n / rerun), flush=True)
            cdb = c.createdb('bench_ceiling_%d' % k)
            c.psql(cdb, CEILING_DDL)
            checkpoint(c, cdb)
            ceil.append(timed_psql(c, cdb, "\\copy ceiling FROM '%s'" % rows))
            print('ceiling run %d: %.2f s = %.0f events/s' % (
                k + 1, ceil[-1], n / ceil[-1]), flush=True)
            idb = c.createdb('bench_indexed_%d' % k)
            c.psql(idb, INDEXED_DDL)
            checkpoint(c, idb)
            idx.append(timed_psql(c, idb, "\\copy ea (%s) FROM '%s'" %
                                  (COLS, rows)))
            print('COPY into partitioned+indexed run %d: %.2f s = %.0f '
                  'events/s' % (k + 1, idx[-1], n / idx[-1]), flush=True)
        store_s, ceil_s, idx_s = median(store), median(ceil), median(idx)
        print('ratio store / ceiling: %.2f (median of %d)' % (
            ceil_s / store_s, args.repeat))

        m = {}
        mn = min(args.merge_events, n)
        for kind in (('insert', 'merge') if mn else ()):
            db = c.createdb('bench_%s' % kind)
            c.psql(db, 'CREATE TABLE stage (seq bigserial, event_id text, '
                   'activity_date date, provider text, account text, '
                   'campaign_id text, campaign_name text, contact_id text, '
                   'contact_email text, event_type text, activity_timestamp '
                   'timestamptz, times bigint, link_url text, '
                   'bounce_type text)')
            subprocess.run(['head', '-n', str(mn), rows], check=True,
                           stdout=open(rows + '.m', 'w'))
            c.psql(db, "\\copy stage (%s) FROM '%s.m'" % (COLS, rows))
            c.psql(db, INDEXED_DDL)
            script = os.path.join(work, '%s.sql' % kind)
            with open(script, 'w') as fh:
                for lo in range(1, mn + 1, b):
                    where = 'seq BETWEEN %d AND %d' % (lo, lo + b - 1)
                    fh.write('BEGIN;\n')
                    if kind == 'insert':
                        fh.write(
                            'INSERT INTO ea (%s, created_at, updated_at) '
                            'SELECT DISTINCT ON (event_id, activity_date) '
                            '%s, now(), now() FROM stage WHERE %s ORDER BY '
                            'event_id, activity_date, seq DESC ON CONFLICT '
                            '(event_id, activity_date) DO NOTHING;\n'
                            % (COLS, COLS, where))
                    else:
                        fh.write(
                            'MERGE INTO ea t USING (SELECT DISTINCT ON '
                            '(event_id, activity_date) * FROM stage WHERE '
                            '%s ORDER BY event_id, activity_date, seq DESC)'
                            ' s ON t.event_id = s.event_id AND '
                            't.activity_date = s.activity_date WHEN NOT '
                            'MATCHED THEN INSERT (%s, created_at, '
                            'updated_at) VALUES (%s, now(), now());\n'
                            % (where, COLS, ', '.join(
                                's.' + x.strip() for x in COLS.split(','))))
                    fh.write('COMMIT;\n')
            c.psql(db, 'CREATE INDEX ON stage (seq)')
            c.psql(db, 'VACUUM ANALYZE stage')
            checkpoint(c, db)
            first = timed_script(c, db, script)
            checkpoint(c, db)
            again = timed_script(c, db, script)
            m[kind] = (first, again)
            print('%s: new rows %.2f s = %.0f events/s; all conflicts '
                  '%.2f s = %.0f events/s' % (kind, first, mn / first, again,
                                              mn / again), flush=True)

        print()
        print('| measure (%d events, batch %d) | seconds | events/s |'
              % (n, b))
        print('|---|---|---|')
        print('| store `write_batch`, new events | %.2f | %.0f |'
              % (store_s, n / store_s))
        print('| store `write_batch`, every event already stored | %.2f | '
              '%.0f |' % (rerun, n / rerun))
        print('| ceiling: plain COPY into an unindexed table | %.2f | %.0f |'
              % (ceil_s, n / ceil_s))
        print('| reference: plain COPY into the partitioned, indexed '
              'table | %.2f | %.0f |' % (idx_s, n / idx_s))
        print('| **ratio store / ceiling** | | **%.2f** |' % (ceil_s / store_s))
        print('| ratio store / COPY into the indexed table | | %.2f |'
              % (idx_s / store_s))
        print('runs (s): store %s; ceiling %s; indexed %s' % (
            ', '.join('%.2f' % x for x in store),
            ', '.join('%.2f' % x for x in ceil),
            ', '.join('%.2f' % x for x in idx)))
        for kind in m:
            name = ('INSERT ON CONFLICT DO NOTHING' if kind == 'insert'
                    else 'MERGE WHEN NOT MATCHED')
            print('| %s (%d events, batch %d), new rows | %.2f | %.0f |'
                  % (name, mn, b, m[kind][0], mn / m[kind][0]))
            print('| %s, every row exists | %.2f | %.0f |'
                  % (name, m[kind][1], mn / m[kind][1]))
    finally:
        c.stop()
        subprocess.run(['rm', '-rf', work])


if __name__ == '__main__':
    main()
