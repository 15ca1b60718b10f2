"""`espsync report html` checked in a real browser: a demo-like simulated
account synced into each store (SQLite, PostgreSQL, MongoDB), the report
rendered, headless Chromium's --dump-dom holding the headline numbers that
`espsync stats` (and, on PostgreSQL, the warehouse views daily_activity and
campaign_engagement) compute for the same period, and its --screenshot not
blank. Also: a campaign named <script> stays text, an empty store renders
with explanations, bad dates are usage errors, and `export csv --combined`
holds every per-campaign file's rows.

Without Chromium (Debian's `chromium`, installed by `scripts/install-deps
test`) the browser checks are skipped with a note; the file checks still
run."""

import csv
import glob
import html.parser
import os
import re
import shutil
import sqlite3
import struct
import subprocess
import tempfile
import zlib

import lib
import mongoutil
import pgutil
from lib import check, fail

# The demo's EmailOctopus account (scripts/demo), limits raised.
DEMO = {'seed': 42, 'campaigns': 12, 'lists': 3, 'contacts': 200}
EVENTS = lib.EVENT_TYPES
ID_RE = re.compile(r'id="((?:m|ev|funnel)-[a-z-]+)">([^<]*)<')


def chromium():
    for name in ('chromium', 'chromium-browser'):
        p = shutil.which(name)
        if p:
            return p
    return None


def browser(t, path, *mode):
    """Runs headless Chromium on the file; its stdout."""
    exe = chromium()
    profile = tempfile.mkdtemp(prefix='chromium-', dir=t.scratch)
    argv = [exe, '--headless', '--no-sandbox', '--disable-gpu',
            '--disable-quic', '--no-first-run',
            '--disable-background-networking', '--disable-component-update',
            '--disable-sync', '--user-data-dir=' + profile] + list(mode) + \
        ['file://' + os.path.abspath(path)]
    try:
        p = subprocess.run(argv, capture_output=True, timeout=120,
                           stdin=subprocess.DEVNULL,
                           env={'PATH': os.environ.get('PATH', '/usr/bin'),
                                'HOME': t.scratch, 'LANG': 'C.UTF-8'})
    except subprocess.TimeoutExpired:
        fail('chromium timed out on %s' % path)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    if p.returncode != 0:
        fail('chromium exited %d' % p.returncode,
             p.stderr.decode('utf-8', 'replace').splitlines()[-5:])
    return p.stdout.decode('utf-8', 'replace')


def png_pixels(path):
    """(width, height, channels, rows of bytes) of an 8-bit PNG."""
    with open(path, 'rb') as f:
        data = f.read()
    check(data[:8] == b'\x89PNG\r\n\x1a\n', '%s is not a PNG' % path)
    pos, idat, hdr = 8, [], None
    while pos < len(data):
        n, kind = struct.unpack('>I4s', data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b'IHDR':
            hdr = struct.unpack('>IIBBBBB', body)
        elif kind == b'IDAT':
            idat.append(body)
        pos += 12 + n
    w, h, depth, ctype, _, _, interlace = hdr
    check(depth == 8 and interlace == 0 and ctype in (2, 6),
          'unexpected PNG format %r' % (hdr,))
    ch = 4 if ctype == 6 else 3
    raw = zlib.decompress(b''.join(idat))
    stride = w * ch
    rows, prev = [], bytearray(stride)
    for y in range(h):
        ft = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if ft == 1:
            for i in range(ch, stride):
                line[i] = (line[i] + line[i - ch]) & 255
        elif ft == 2:
            line = bytearray((a + b) & 255 for a, b in zip(line, prev))
        elif ft == 3:
            for i in range(stride):
                left = line[i - ch] if i >= ch else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 255
        elif ft == 4:
            for i in range(stride):
                a = line[i - ch] if i >= ch else 0
                b = prev[i]
                c = prev[i - ch] if i >= ch else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pr) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, ch, rows


def assert_not_blank(path):
    w, h, ch, rows = png_pixels(path)
    lum, colours = [], set()
    for y in range(0, h, 3):
        row = rows[y]
        for x in range(0, w, 3):
            r, g, b = row[x * ch], row[x * ch + 1], row[x * ch + 2]
            lum.append((299 * r + 587 * g + 114 * b) / 1000)
            colours.add((r >> 4, g >> 4, b >> 4))
    mean = sum(lum) / len(lum)
    var = sum((v - mean) ** 2 for v in lum) / len(lum)
    dark = sum(1 for v in lum if v < 128) / len(lum)
    check(var > 100 and len(colours) > 8 and dark > 0.005,
          'screenshot looks blank: luminance variance %.1f, %d colours, '
          '%.2f%% dark pixels' % (var, len(colours), dark * 100))
    return var, len(colours)


class Inert(html.parser.HTMLParser):
    """Anything in a document that could run or fetch."""

    def __init__(self):
        super().__init__()
        self.bad = []

    def handle_starttag(self, tag, attrs):
        if tag in ('script', 'iframe', 'object', 'embed', 'link', 'img',
                   'base', 'form', 'meta') and not (
                       tag == 'meta' and dict(attrs).get('http-equiv') !=
                       'refresh'):
            self.bad.append('<%s>' % tag)
        for k, v in attrs:
            if k.startswith('on') or k in ('src', 'href', 'xlink:href',
                                           'action', 'formaction'):
                self.bad.append('%s=%r on <%s>' % (k, v, tag))
            if v and 'url(' in v:
                self.bad.append('url() in %s of <%s>' % (k, tag))


def assert_inert(text, what):
    p = Inert()
    p.feed(text)
    if p.bad:
        fail('%s holds active content: %s' % (what, p.bad[0]), p.bad[1:6])
    check('@import' not in text and 'url(' not in text,
          '%s fetches from its style' % what)


def figures(text):
    """{id: text} of the headline, event and funnel elements."""
    return {k: v for k, v in ID_RE.findall(text)}


def count(v):
    return int(v.replace(',', ''))


def rate(num, den):
    return '%.1f%%' % (100.0 * num / den) if den else '\u2014'


def check_figures(got, want, what):
    bad = ['%s: report shows %r, %s computes %r' % (k, got.get(k), what, v)
           for k, v in want.items() if got.get(k) != v]
    if bad:
        fail(bad[0], bad[1:])


def stats_want(t, store):
    """ev-* figures from `espsync stats --json` (all time)."""
    r = t.espsync('--store', store, 'stats', '--json', expect=0)
    ev = r.summary()['events']
    return {'ev-' + k: '{:,}'.format(ev[k]) for k in EVENTS}


def campaign_want(campaigns, recipients, opens, clicks):
    return {'m-campaigns': '{:,}'.format(campaigns),
            'm-recipients': '{:,}'.format(recipients),
            'm-open-rate': rate(opens, recipients),
            'm-click-rate': rate(clicks, recipients),
            'm-ctor': rate(clicks, opens),
            'funnel-opened': '{:,}'.format(opens),
            'funnel-clicked': '{:,}'.format(clicks)}


def render(t, store, out='report.html', *extra):
    r = t.espsync('--store', store, 'report', 'html', '--out', out,
                  '--json', *extra, expect=0)
    s = r.summary()
    check(s.get('status') == 'complete' and s.get('file') == out,
          'report summary %r' % s)
    with open(t.path(out), encoding='utf-8') as f:
        text = f.read()
    assert_inert(text, out)
    return text, s


def in_browser(t, out, want, what, is_shot=False):
    """The dumped DOM holds want; with is_shot, the screenshot is not
    blank."""
    if not chromium():
        t.note('browser check skipped: chromium is not installed '
               '(scripts/install-deps test installs it)')
        return
    dom = browser(t, t.path(out), '--dump-dom')
    check('Email engagement report' in dom, 'chromium dumped no report',
          dom.splitlines()[:5])
    check_figures(figures(dom), want, what + ' (in chromium)')
    assert_inert(dom, 'the DOM chromium built')
    if not is_shot:
        return
    png = t.path('shot.png')
    browser(t, t.path(out), '--screenshot=' + png, '--window-size=1280,900')
    var, colours = assert_not_blank(png)
    t.note('screenshot: luminance variance %.0f, %d colours' %
           (var, colours))


def sqlite_campaigns(db):
    con = lib.connect(db)
    try:
        row = con.execute(
            "SELECT count(*), coalesce(sum(sent), 0),"
            " coalesce(sum(opened_unique), 0),"
            " coalesce(sum(clicked_unique), 0) FROM campaigns"
            " WHERE sent_at IS NOT NULL AND sent_at != ''").fetchone()
    finally:
        con.close()
    return tuple(row)


def test_report_sqlite_in_browser(t):
    """The demo account's report: the DOM chromium builds holds the numbers
    stats and the store compute; the screenshot is not blank."""
    sim = t.sim(**DEMO)
    t.write_env(sim)
    store = 'sqlite:data/espsync.db'
    t.sync(expect=0)
    text, s = render(t, store)
    want = stats_want(t, store)
    want.update(campaign_want(*sqlite_campaigns(t.db())))
    check_figures(figures(text), want, 'stats and the store')
    check(s['events'] == sum(count(want['ev-' + k]) for k in EVENTS),
          'summary events %s' % s['events'])
    in_browser(t, 'report.html', want, 'stats and the store', is_shot=True)
    if os.environ.get('ESPSYNC_REPORT_SHOT'):
        shutil.copy(t.path('shot.png'), os.environ['ESPSYNC_REPORT_SHOT'])


def test_report_period_and_script_name(t):
    """--since/--until bound the figures; a campaign named <script> stays
    text in the browser; a bad date is a usage error."""
    sim = t.sim(**DEMO)
    t.write_env(sim)
    store = 'sqlite:data/espsync.db'
    t.sync(expect=0)
    con = sqlite3.connect(t.db())
    try:
        con.execute("UPDATE campaigns SET name = '<script>document.body."
                    "innerHTML=\"PWNED\"</script>' WHERE campaign_id = "
                    "(SELECT campaign_id FROM campaigns WHERE sent > 0 "
                    "ORDER BY sent_at DESC LIMIT 1)")
        con.commit()
        since, until = '2025-11-01', '2025-12-31'
        events = dict(con.execute(
            "SELECT event_type, count(*) FROM email_activities WHERE "
            "activity_date BETWEEN ? AND ? GROUP BY event_type",
            (since, until)).fetchall())
        camp = con.execute(
            "SELECT count(*), coalesce(sum(sent), 0), coalesce("
            "sum(opened_unique), 0), coalesce(sum(clicked_unique), 0) "
            "FROM campaigns WHERE substr(sent_at, 1, 10) BETWEEN ? AND ?",
            (since, until)).fetchone()
    finally:
        con.close()
    text, s = render(t, store, 'period.html', '--since', since,
                     '--until', until)
    check(s['since'] == since and s['until'] == until,
          'period %s to %s' % (s['since'], s['until']))
    want = {'ev-' + k: '{:,}'.format(events.get(k, 0)) for k in EVENTS}
    want.update(campaign_want(*camp))
    check_figures(figures(text), want, 'sql over the period')
    text, _ = render(t, store)
    check('&lt;script&gt;document.body.innerHTML=&quot;PWNED&quot;'
          '&lt;/script&gt;' in text, 'the <script> name is not escaped text')
    if chromium():
        dom = browser(t, t.path('report.html'), '--dump-dom')
        check('PWNED' in dom and '<script' not in dom.replace(
            '&lt;script', ''), 'the <script> name ran or vanished')
        check('innerHTML' in dom, 'the name is not shown as text')
    for bad in (('--since', '2025-13-01'), ('--until', 'yesterday'),
                ('--since', '2025-02-01', '--until', '2025-01-01')):
        r = t.espsync('--store', store, 'report', 'html', *bad, expect=2)
        check('report' in r.err, 'no usage message: %s' % r.err)
    r = t.espsync('--store', store, 'report', 'pdf', expect=2)
    check("unknown report format 'pdf'" in r.err, r.err)


def test_report_empty_store(t):
    """A store with nothing in it renders every section's explanation."""
    text, s = render(t, 'sqlite:data/empty.db')
    check(s['campaigns'] == 0 and s['events'] == 0, 'summary %r' % s)
    for phrase in ('No events in this period', 'No campaign was sent',
                   'No trend to draw', 'No funnel', 'holds no list',
                   'holds no account yet'):
        check(phrase in text, 'no explanation %r' % phrase)
    check('NaN' not in text and 'nan%' not in text and 'inf' not in text,
          'a division by zero reached the page')
    in_browser(t, 'report.html', {'m-campaigns': '0', 'm-recipients': '0',
                                  'm-open-rate': '\u2014'}, 'an empty store')


def test_report_postgresql(t):
    """On PostgreSQL the report equals stats and the warehouse views
    daily_activity and campaign_engagement; the password never shows."""
    sim = t.sim(**DEMO)
    t.write_env(sim)
    db = pgutil.new_db(t)
    c = pgutil.cluster()
    url = c.url(db)
    t.espsync('--store', url, 'sync', expect=0)
    text, _ = render(t, url)
    check(pgutil.PASSWORD not in text, 'the report holds the password')
    check('***' in text, 'the footer does not show the redacted store')
    want = stats_want(t, url)
    rows = c.psql(db, 'SELECT event_type, sum(events) FROM daily_activity '
                  'GROUP BY event_type')
    views = {'ev-' + k: '0' for k in EVENTS}
    for line in rows:
        k, n = line.split('\x1f')
        views['ev-' + k] = '{:,}'.format(int(n))
    check(views == want, 'daily_activity %r differs from stats %r' %
          (views, want))
    camp = c.psql(db, 'SELECT count(*), coalesce(sum(recipients), 0), '
                  'coalesce(sum(opens), 0), coalesce(sum(clicks), 0) FROM '
                  'campaign_engagement WHERE sent_at IS NOT NULL')[0]
    want.update(campaign_want(*(int(x) for x in camp.split('\x1f'))))
    check_figures(figures(text), want, 'stats and the warehouse views')
    in_browser(t, 'report.html', want, 'the warehouse views')


def test_report_mongodb(t):
    """On MongoDB the report equals stats and the store's campaigns."""
    sim = t.sim(**DEMO)
    t.write_env(sim)
    srv = mongoutil.start(t)
    url = srv.url('espsync_report')
    t.espsync('--store', url, 'sync', expect=0)
    text, _ = render(t, url)
    want = stats_want(t, url)
    cl = srv.client()
    docs = [d for d in cl.find('espsync_report', 'campaigns')
            if d.get('sent_at') not in (None, '')]
    cl.close()

    def n(d, counter, kind):
        return int(d['statistics'][counter][kind] or 0)
    want.update(campaign_want(
        len(docs), sum(n(d, 'sent', 'total') for d in docs),
        sum(n(d, 'opened', 'unique') for d in docs),
        sum(n(d, 'clicked', 'unique') for d in docs)))
    check_figures(figures(text), want, 'stats and the store')
    in_browser(t, 'report.html', want, 'stats and the store')


def read_csv(path):
    with open(path, newline='', encoding='utf-8-sig') as f:
        return list(csv.reader(f, strict=True))


def test_export_combined_csv(t):
    """--combined holds exactly the rows of the per-campaign files, each
    with its campaign_id and provider, under one header."""
    sim = t.sim(**DEMO)
    t.write_env(sim)
    t.sync(expect=0)
    t.espsync('export', 'csv', '--export-dir', 'per', expect=0)
    r = t.espsync('export', 'csv', '--combined', 'all.csv', expect=0)
    check('all.csv' in r.out, r.out)
    rows = read_csv(t.path('all.csv'))
    head = rows[0]
    check(head[:5] == ['campaign_id', 'provider', 'campaign_name',
                       'campaign_sent_at', 'email'] and
          head[-6:] == ['opened', 'clicked', 'bounced', 'complained',
                        'unsubscribed', 'status'], 'header %r' % head)
    combined = {}
    for row in rows[1:]:
        check(len(row) == len(head), 'ragged row %r' % row[:3])
        d = dict(zip(head, row))
        check(d['provider'] == lib.PROVIDER, 'provider %r' % d['provider'])
        combined.setdefault(d['campaign_id'], []).append(d)
    per = glob.glob(t.path('per', 'campaign_*.csv'))
    check(len(per) == len(combined), '%d files, %d campaigns combined' %
          (len(per), len(combined)))
    for path in per:
        cid = os.path.basename(path).split('_')[1]
        prow = read_csv(path)
        want = [dict(zip(prow[0], x)) for x in prow[1:]]
        got = [{k: d[k] for k in prow[0]} for d in combined.get(cid, [])]
        check(got == want, 'campaign %s: combined rows differ from %s' %
              (cid, os.path.basename(path)))
    con = sqlite3.connect(t.db())
    n = con.execute("SELECT count(*) FROM participants p JOIN campaigns c "
                    "USING (provider, account, campaign_id) WHERE "
                    "c.sent_at IS NOT NULL AND c.sent_at != ''").fetchone()
    con.close()
    check(len(rows) - 1 == n[0], '%d rows, %d participants' %
          (len(rows) - 1, n[0]))


def test_report_bigquery(t):
    """On BigQuery (the fake) the report equals stats, the store's
    campaigns, and the SQLite store's report of the same account, all time
    and over a period."""
    import bqutil
    sim = t.sim(**DEMO)
    t.write_env(sim)
    bq = bqutil.start(t)
    env = bq.env(t)
    url = bq.store_url()
    t.espsync('--store', url, 'sync', env=env, expect=0)
    t.sync(expect=0)
    pages = {}
    for name, store, e in (('bq', url, env), ('sq', 'sqlite:data/espsync.db',
                                               None)):
        for extra in ((), ('--since', '2025-11-01', '--until',
                           '2025-12-31')):
            out = '%s%d.html' % (name, len(extra))
            r = t.espsync('--store', store, 'report', 'html', '--out', out,
                          '--json', *extra, env=e, expect=0)
            check(r.summary().get('status') == 'complete',
                  'report summary %r' % r.summary())
            with open(t.path(out), encoding='utf-8') as f:
                pages[out] = f.read()
            assert_inert(pages[out], out)
    r = t.espsync('--store', url, 'stats', '--json', env=env, expect=0)
    ev = r.summary()['events']
    want = {'ev-' + k: '{:,}'.format(ev[k]) for k in EVENTS}
    want.update(campaign_want(*sqlite_campaigns(bq.to_sqlite(
        t.path('bq.db')))))
    check_figures(figures(pages['bq0.html']), want, 'stats and the store')
    for n in (0, 4):
        a, b = figures(pages['bq%d.html' % n]), figures(pages['sq%d.html' % n])
        check(a == b and a, 'bigquery report %r differs from sqlite\'s %r' %
              (a, b))
    # every section (links, lists, accounts) as SQLite's, but the store
    # line and the times of generation and of the runs
    def body(text):
        text = re.sub(r'bigquery://[^<"]*|sqlite:[^<"]*', 'STORE', text)
        return re.sub(r'\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d)?Z?', 'TIME',
                      text)
    for n in (0, 4):
        a, b = body(pages['bq%d.html' % n]), body(pages['sq%d.html' % n])
        if a != b:
            al, bl = a.splitlines(), b.splitlines()
            diff = [(x, y) for x, y in zip(al, bl) if x != y][:3]
            fail('bigquery report differs from sqlite\'s', diff)
    in_browser(t, 'bq0.html', want, 'stats and the store')
