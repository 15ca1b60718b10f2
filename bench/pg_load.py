#!/usr/bin/env python3
"""PostgreSQL load benchmark (issue 4, part 6).

Starts a throwaway PostgreSQL 15 cluster (tests/e2e/pgutil.py, fsync on),
builds bench/pg_load.c against build/libespsync.a, then:

1. store: N synthetic events through store_ops.write_batch (COPY into the
   staging table, de-duplicate, INSERT ... ON CONFLICT into the partitioned
   email_activities, one transaction per batch with its checkpoints);
2. ceiling: plain COPY of the same rows into an unindexed, unpartitioned
   table (psql \\copy from the file pg_load wrote);
3. merge vs insert: the same rows staged once, then moved batch by batch
   into a fresh partitioned copy of email_activities with INSERT ... ON
   CONFLICT DO NOTHING and with MERGE ... WHEN NOT MATCHED THEN INSERT, then
   once more (every row a conflict).

Usage: bench/pg_load.py [--events N] [--batch B] [--build DIR]
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
    pk = subprocess.run(['pkg-config', '--cflags', '--libs', 'libcurl',
                         'sqlite3', 'libcjson', 'libpq'],
                        capture_output=True, check=True).stdout.split()
    mg = subprocess.run(['pkg-config', '--libs', 'libmongoc-1.0'],
                        capture_output=True)
    if mg.returncode == 0:
        pk += mg.stdout.split()
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--events', type=int, default=1000000)
    ap.add_argument('--batch', type=int, default=1000)
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
        store_db = c.createdb('bench_store')
        p = subprocess.run([drv, '--events', str(n), '--batch', str(b),
                            '--copy-file', rows, c.url(store_db)],
                           capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit('pg_load failed: %s' % p.stderr.strip())
        f = p.stdout.split()
        store_s = float(f[f.index('seconds') + 1])
        store_rate = n / store_s
        print('store: %d events in %.2f s = %.0f events/s (batch %d)'
              % (n, store_s, store_rate, b), flush=True)

        ceil_db = c.createdb('bench_ceiling')
        c.psql(ceil_db, 'CREATE TABLE ceiling (event_id text, '
               'activity_date date, provider text, account text, '
               'campaign_id text, campaign_name text, contact_id text, '
               'contact_email text, event_type text, activity_timestamp '
               'timestamptz, times bigint, link_url text, bounce_type text)')
        ceil_s = timed_psql(c, ceil_db, "\\copy ceiling FROM '%s'" % rows)
        ceil_rate = n / ceil_s
        print('ceiling: plain COPY of the same rows into an unindexed table:'
              ' %.2f s = %.0f events/s' % (ceil_s, ceil_rate), flush=True)
        print('ratio store / ceiling: %.2f' % (store_rate / ceil_rate))

        # INSERT ... ON CONFLICT vs MERGE, batch by batch, from one staging
        # table holding every row (seq = row number).
        m = {}
        for kind in ('insert', 'merge'):
            db = c.createdb('bench_%s' % kind)
            c.psql(db, 'CREATE TABLE stage (seq bigserial, event_id text, '
                   'activity_date date, provider text, account text, '
                   'campaign_id text, campaign_name text, contact_id text, '
                   'contact_email text, event_type text, activity_timestamp '
                   'timestamptz, times bigint, link_url text, '
                   'bounce_type text)')
            c.psql(db, "\\copy stage (%s) FROM '%s'" % (COLS, rows))
            c.psql(db, 'CREATE TABLE ea (LIKE stage EXCLUDING ALL, '
                   'created_at timestamptz, updated_at timestamptz, '
                   'PRIMARY KEY (event_id, activity_date)) PARTITION BY '
                   'RANGE (activity_date); ALTER TABLE ea DROP COLUMN seq;'
                   'CREATE TABLE ea_default PARTITION OF ea DEFAULT;'
                   'CREATE INDEX ON ea (contact_email, campaign_id, '
                   'event_type);'
                   "DO $$ BEGIN FOR i IN 0..29 LOOP EXECUTE format("
                   "'CREATE TABLE ea_%s PARTITION OF ea FOR VALUES FROM "
                   "(%L) TO (%L)', i, date '2026-01-01' + i, "
                   "date '2026-01-01' + i + 1); END LOOP; END $$")
            script = os.path.join(work, '%s.sql' % kind)
            with open(script, 'w') as fh:
                for lo in range(1, n + 1, b):
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
            first = timed_script(c, db, script)
            again = timed_script(c, db, script)
            m[kind] = (first, again)
            print('%s: new rows %.2f s = %.0f events/s; all conflicts '
                  '%.2f s = %.0f events/s' % (kind, first, n / first, again,
                                              n / again), flush=True)

        print()
        print('| measure | seconds | events/s |')
        print('|---|---|---|')
        print('| store write_batch (COPY staging + INSERT ON CONFLICT, '
              'batch %d) | %.2f | %.0f |' % (b, store_s, store_rate))
        print('| ceiling: plain COPY into an unindexed table | %.2f | %.0f |'
              % (ceil_s, ceil_rate))
        print('| ratio | | **%.2f** |' % (store_rate / ceil_rate))
        for kind in ('insert', 'merge'):
            print('| %s, new rows | %.2f | %.0f |' % (
                'INSERT ON CONFLICT DO NOTHING' if kind == 'insert'
                else 'MERGE WHEN NOT MATCHED', m[kind][0], n / m[kind][0]))
            print('| %s, every row exists | %.2f | %.0f |' % (
                'INSERT ON CONFLICT DO NOTHING' if kind == 'insert'
                else 'MERGE WHEN NOT MATCHED', m[kind][1], n / m[kind][1]))
    finally:
        c.stop()
        subprocess.run(['rm', '-rf', work])


if __name__ == '__main__':
    main()
