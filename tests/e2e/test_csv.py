"""CSV export: files parse back (RFC 4180) to the store's participants, names
stay inside the export directory, formula injection is neutralised."""

import csv
import glob
import json
import os
import re
import sqlite3

import lib
from lib import check, fail

FLAG_COLS = ['opened', 'clicked', 'bounced', 'complained', 'unsubscribed']
FORMULA = ('=', '+', '-', '@', '\t', '\r')
NUMERIC = re.compile(r'^-?[0-9]+(\.[0-9]+)?$')


def setup(t, **opts):
    sim = t.sim(**opts)
    t.write_env(sim)
    return sim


def protect(s):
    if s and s[0] in FORMULA:
        return "'" + s
    return s


def cell_ok(cell, raw, protected):
    """Whether a CSV cell shows raw (a string) correctly."""
    if raw is None:
        return cell == ''
    if protected:
        if cell == protect(raw):
            return True
        # a plain negative number may be left as it is
        return NUMERIC.match(raw) is not None and cell == raw
    return cell == raw


def field_text(v):
    if v is None:
        return None
    if isinstance(v, bool):
        return 'true' if v else 'false'
    if isinstance(v, (int, float)):
        return str(v)
    return v


def read_csv(path):
    with open(path, newline='', encoding='utf-8-sig') as f:
        return list(csv.reader(f, strict=True))


def store_view(db):
    """Campaigns with a sent_at, their participants, list fields."""
    con = lib.connect(db)
    try:
        camps = {r['campaign_id']: dict(r) for r in con.execute(
            "SELECT * FROM campaigns WHERE sent_at IS NOT NULL AND "
            "sent_at != ''")}
        parts = {}
        for r in con.execute('SELECT * FROM participants'):
            parts.setdefault(r['campaign_id'], []).append(dict(r))
        lists = {r['list_id']: lib.jload(r['fields'], []) for r in
                 con.execute('SELECT list_id, fields FROM lists')}
    finally:
        con.close()
    return camps, parts, lists


def field_tags(camp, lists):
    tags = []
    for lid in lib.jload(camp['to_lists'], []) or []:
        for f in lists.get(lid) or []:
            tag = f.get('tag') if isinstance(f, dict) else f
            if tag not in tags:
                tags.append(tag)
    return tags


def check_exports(export_dir, db, protected=True):
    """Every sent campaign has one file that parses back to the store."""
    camps, parts, lists = store_view(db)
    files = sorted(glob.glob(os.path.join(export_dir, '*')))
    check(len(files) == len(camps), '%d files in %s, want %d (one per sent '
          'campaign): %s' % (len(files), export_dir, len(camps),
                             [os.path.basename(f) for f in files][:5]))
    errors = []
    rows_total = 0
    for cid, camp in sorted(camps.items()):
        mine = glob.glob(os.path.join(export_dir,
                                      'campaign_%s_*.csv' % glob.escape(cid)))
        if len(mine) != 1:
            errors.append('campaign %s: %d files' % (cid, len(mine)))
            continue
        try:
            rows = read_csv(mine[0])
        except (csv.Error, UnicodeDecodeError) as e:
            errors.append('%s does not parse: %s' %
                          (os.path.basename(mine[0]), e))
            continue
        check(rows, '%s is empty (no header)' % os.path.basename(mine[0]))
        header, body = rows[0], rows[1:]
        tags = field_tags(camp, lists)
        fcols = header[3:len(header) - 6]
        want_head = ['campaign_name', 'campaign_sent_at', 'email']
        if header[:3] != want_head or header[-6:] != FLAG_COLS + ['status']:
            errors.append('%s header %s' % (cid, header))
            continue
        if len(fcols) != len(tags) or \
                [lib.squash(c) for c in fcols] != \
                [lib.squash(x) for x in tags] or \
                any(not re.match(r'^[a-z0-9_]+$', c) for c in fcols):
            errors.append('%s field columns %s for list field tags %s' %
                          (cid, fcols, tags))
            continue
        ps = parts.get(cid, [])
        rows_total += len(body)
        if len(body) != len(ps):
            errors.append('%s: %d rows for %d participants' %
                          (cid, len(body), len(ps)))
        by_email = {}
        for row in body:
            if len(row) != len(header):
                errors.append('%s: row of %d cells, header has %d' %
                              (cid, len(row), len(header)))
                break
            by_email.setdefault(row[2], []).append(row)
        date = (camp['sent_at'] or '')[:10]
        for p in ps:
            got = by_email.get(protect(p['email_address']) if protected
                               else p['email_address'])
            if not got:
                got = by_email.get(p['email_address'])
            if not got or len(got) != 1:
                errors.append('%s: %d rows for participant %s' %
                              (cid, len(got or []), p['contact_id']))
                continue
            row = dict(zip(header, got[0]))
            if not cell_ok(row['campaign_name'], camp['name'], protected):
                errors.append('%s campaign_name %r, store %r' %
                              (cid, row['campaign_name'], camp['name']))
            if not row['campaign_sent_at'].startswith(date):
                errors.append('%s campaign_sent_at %r, store %r' %
                              (cid, row['campaign_sent_at'], camp['sent_at']))
            for f in FLAG_COLS:
                want = 'Yes' if p[f] else 'No'
                if row[f] != want:
                    errors.append('%s %s %s %r, store %r' %
                                  (cid, p['contact_id'], f, row[f], p[f]))
            if (row['status'] or '').lower() != (p['status'] or '').lower():
                errors.append('%s %s status %r, store %r' %
                              (cid, p['contact_id'], row['status'],
                               p['status']))
            fields = lib.jload(p['fields'], {}) or {}
            for tag, col in zip(tags, fcols):
                v = fields.get(tag)
                cell = row[col]
                if isinstance(v, list):
                    ok = all(str(x) in cell for x in v)
                else:
                    ok = cell_ok(cell, field_text(v), protected)
                if not ok:
                    errors.append('%s %s field %s: cell %r, store %r' %
                                  (cid, p['contact_id'], tag, cell, v))
            if len(errors) > 20:
                break
    if errors:
        fail('CSV differs from the store: %s' % errors[0], errors[1:10])
    return len(files), rows_total


def test_csv_matches_store(t):
    setup(t)
    t.sync()
    r = t.espsync('export', 'csv', expect=0)
    nfiles, nrows = check_exports(t.path('data', 'exports'), t.db())
    check(nrows > 0, 'exports hold no participant row')
    t.note('%d files, %d rows' % (nfiles, nrows))
    # a re-export rewrites the same bytes
    first = {f: open(f, 'rb').read()
             for f in glob.glob(t.path('data', 'exports', '*'))}
    t.espsync('export', 'csv', expect=0)
    again = {f: open(f, 'rb').read()
             for f in glob.glob(t.path('data', 'exports', '*'))}
    check(first == again, 'a second export wrote different files')
    check(r.rc == 0, 'unreachable')


def test_csv_single_campaign_and_dir(t):
    sim = setup(t)
    t.sync()
    truth = sim.truth()
    cid = [c for c in truth['campaigns'] if c.get('sent_at')][0]['id']
    t.espsync('export', 'csv', '--campaign', cid, '--export-dir', 'one',
              expect=0)
    files = os.listdir(t.path('one'))
    check(len(files) == 1 and files[0].startswith('campaign_%s_' % cid),
          'export --campaign wrote %s' % files)
    t.espsync('--export-csv', '--export-dir', 'seedexp', expect=0)
    check_exports(t.path('seedexp'), t.db())


def test_hostile_names_export_safely(t):
    sim = setup(t, hostile_names=True)
    truth = sim.truth()
    names = [c.get('name') or '' for c in truth['campaigns']
             if c.get('sent_at')]
    check(any(re.search(r'\.\./|[,"\n]', n) for n in names),
          'simulator --hostile-names made no hostile sent campaign name: '
          '%r' % names[:4])
    t.sync()
    lib.assert_equals_truth(t.db(), truth, what='store with hostile names')
    exp = t.path('a', 'b', 'c', 'exports')
    before = set()
    for dp, dn, fn in os.walk(t.scratch):
        before |= {os.path.join(dp, f) for f in fn}
    t.espsync('export', 'csv', '--export-dir', exp, expect=0)
    after = set()
    for dp, dn, fn in os.walk(t.scratch):
        after |= {os.path.join(dp, f) for f in fn}
    new = sorted(after - before)
    outside = [f for f in new if os.path.dirname(f) != exp and
               not f.endswith('.espsync-runs.log') and '/.sim/' not in f]
    check(not outside, 'export wrote outside the export dir: %s' %
          [os.path.relpath(f, t.scratch) for f in outside])
    bad = [os.path.basename(f) for f in new if os.path.dirname(f) == exp and
           (re.search(r'[\x00-\x1f\x7f/\\]', os.path.basename(f)) or
            os.path.basename(f).startswith('.') or
            not os.path.basename(f).startswith('campaign_') or
            len(os.path.basename(f).encode()) > 255)]
    check(not bad, 'unsafe export file names: %r' % bad)
    check_exports(exp, t.db())
    t.note('names: %s' % ' | '.join(repr(n)[:30] for n in names[:4]))


def test_formula_protection(t):
    """Cells starting with = + - @ TAB CR get a ' unless
    --no-formula-protect; checked on whatever such values the hostile
    account holds."""
    sim = setup(t, hostile_names=True)
    truth = sim.truth()
    t.sync()
    t.espsync('export', 'csv', '--export-dir', 'prot', expect=0)
    t.espsync('export', 'csv', '--no-formula-protect', '--export-dir', 'raw',
              expect=0)
    check_exports(t.path('prot'), t.db(), protected=True)
    check_exports(t.path('raw'), t.db(), protected=False)
    risky = [c['name'] for c in truth['campaigns']
             if c.get('sent_at') and c.get('name') and
             c['name'][0] in FORMULA]
    for p in truth.get('participants', []):
        for v in (p.get('fields') or {}).values():
            if isinstance(v, str) and v and v[0] in FORMULA:
                risky.append(v)
    check(risky, 'hostile account has no formula-like value: test proves '
          'nothing')
    t.note('%d formula-like values' % len(risky))


def test_csv_columns_map(t):
    setup(t)
    t.sync()
    camps, parts, lists = store_view(t.db())
    cid = sorted(camps)[0]
    tags = field_tags(camps[cid], lists)
    check(tags, 'campaign %s has no list fields' % cid)
    t.espsync('export', 'csv', '--campaign', cid, '--export-dir', 'mapped',
              '--csv-columns', '%s=renamed_col' % tags[0], expect=0)
    f = glob.glob(t.path('mapped', '*.csv'))
    check(len(f) == 1, 'mapped export wrote %d files' % len(f))
    header = read_csv(f[0])[0]
    check('renamed_col' in header, '--csv-columns %s=renamed_col: header %s'
          % (tags[0], header))
    check(json.dumps(header).count('renamed_col') == 1,
          'renamed column appears twice')


def test_renamed_campaign_replaces_its_file(t):
    """A campaign renamed upstream gets a new file name; the file under the
    old name goes, so the directory keeps one file per campaign."""
    setup(t)
    t.sync()
    t.espsync('export', 'csv', expect=0)
    exp = t.path('data', 'exports')
    before = sorted(os.listdir(exp))
    check(before, 'first export wrote no file')
    con = sqlite3.connect(t.db(), timeout=10)
    try:
        cid, old = con.execute(
            "SELECT campaign_id, name FROM campaigns WHERE sent_at IS NOT NULL"
            " ORDER BY campaign_id LIMIT 1").fetchone()
        con.execute("UPDATE campaigns SET name = 'Renamed upstream' "
                    "WHERE campaign_id = ?", (cid,))
        con.commit()
    finally:
        con.close()
    t.espsync('export', 'csv', expect=0)
    after = sorted(os.listdir(exp))
    mine = [f for f in after if f.startswith('campaign_%s_' % cid)]
    check(mine == ['campaign_%s_Renamed upstream.csv' % cid],
          'files of renamed campaign %s (was %r): %r' % (cid, old, mine))
    check(len(after) == len(before),
          'export dir went from %d to %d files: %r'
          % (len(before), len(after), sorted(set(after) ^ set(before))))
    check_exports(exp, t.db())
