"""Bad inputs from outside (issue 10): an API URL that answers a web page,
an API that refuses connections, configuration typos, exports of several
accounts in one store."""

import http.server
import json
import os
import socket
import threading

import aclib
import lib
from lib import check

HTML_LINE = 'answered HTML, not JSON: is the API URL right?'


class _Html(http.server.BaseHTTPRequestHandler):
    hits = 0

    def do_GET(self):  # noqa: N802
        type(self).hits += 1
        body = b'<!DOCTYPE html>\n<html><body>Welcome</body></html>\n'
        self.send_response(200)
        self.send_header('Content-Type', 'text/html; charset=utf-8')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def html_site():
    """A web site on 127.0.0.1 (a thread); returns (server, url)."""
    handler = type('Html', (_Html,), {'hits': 0})
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, 'http://127.0.0.1:%d/api/1.6' % srv.server_address[1]


def closed_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def write_env_url(t, url):
    p = t.path('.env')
    with open(p, 'w') as f:
        f.write('EMAILOCTOPUS_API_URL=%s\nEMAILOCTOPUS_API_KEY=%s\n' %
                (url, lib.KEY))
    os.chmod(p, 0o600)


def test_html_api_url_check_and_sync_fail(t):
    srv, url = html_site()
    try:
        write_env_url(t, url)
        r = t.espsync('check', expect=2)
        check(HTML_LINE in r.err, 'check does not name the cause: %r' %
              r.err_lines()[-3:])
        hits = srv.RequestHandlerClass.hits
        r = t.sync(expect=2)
        check(HTML_LINE in r.err, 'sync does not name the cause: %r' %
              r.err_lines()[-3:])
        check(r.elapsed < 10, 'sync took %.1fs on a web page' % r.elapsed)
        sent = srv.RequestHandlerClass.hits - hits
        check(sent <= 2, 'sync sent %d requests to a web page' % sent)
        r = t.espsync('--json', 'sync', expect=2)
        doc = json.loads(r.out)
        check(HTML_LINE in json.dumps(doc), 'json summary does not name '
              'the cause: %r' % r.out[:300])
    finally:
        srv.shutdown()


def test_connection_refused_fails_fast(t):
    write_env_url(t, 'http://127.0.0.1:%d/api/1.6' % closed_port())
    r = t.sync(expect=1)
    check(r.elapsed < 10, 'a refused connection took %.1fs to fail' %
          r.elapsed)
    check(r.err_lines(), 'no message on stderr')


def test_env_typos_and_repeats_warn(t):
    sim = t.sim()
    t.write_env(sim, extra='ESPSYNC_STROE=sqlite:data/elsewhere.db\n'
                'EMAILOCTOPUS_API_KEY=%s\n' % lib.KEY)
    r = t.espsync('check', expect=0)
    check(any("unknown key 'ESPSYNC_STROE'" in ln and 'line 4' in ln and
              "did you mean 'ESPSYNC_STORE'?" in ln for ln in r.err_lines()),
          'no warning names the typo, its line and the key meant: %r' %
          r.err_lines())
    check(any("'EMAILOCTOPUS_API_KEY' on line 3 and again on line 5" in ln
              for ln in r.err_lines()),
          'no warning names both lines of the repeated key: %r' %
          r.err_lines())
    q = t.espsync('-q', 'check', expect=0)
    check(not q.err.strip(), '-q still warns: %r' % q.err_lines())


JSON_ERRORS = (
    (['--json', 'sync', '--bogus'], 'usage'),
    (['--json', '--max-runtime', 'banana', 'sync'], 'config'),
    (['sync', '--full', '--incremental', '--json'], None),
    (['--json', 'state', 'explode'], 'usage'),
    (['--json', '--env-file', 'missing.env', 'sync'], 'config'),
)


def test_json_usage_and_config_errors(t):
    setup_sim = t.sim()
    t.write_env(setup_sim)
    for args, kind in JSON_ERRORS:
        r = t.espsync(*args, expect=2)
        lines = [ln for ln in r.out.splitlines() if ln.strip()]
        check(len(lines) == 1, '%s: want one JSON object on stdout, got '
              '%r' % (' '.join(args), r.out[:300]))
        doc = json.loads(lines[0])
        check(doc.get('status') == 'error' and doc.get('exit_code') == 2,
              '%s: %r' % (' '.join(args), doc))
        err = doc.get('error') or {}
        check(err.get('message'), '%s: no message: %r' % (' '.join(args),
                                                         doc))
        if kind:
            check(err.get('kind') == kind, '%s: kind %r, want %r' %
                  (' '.join(args), err.get('kind'), kind))
        check(r.err.strip(), '%s: nothing on stderr' % ' '.join(args))


def csv_files(root):
    out = []
    for d, _, names in os.walk(root):
        out += [os.path.join(d, n) for n in names
                if n.startswith('campaign_') and n.endswith('.csv')]
    return sorted(out)


def test_export_accounts_apart(t):
    """Two accounts of one provider (ActiveCampaign ids are 1, 2, 3... in
    every account) in one store: each exports into its own directory, the
    count printed is the count on disk, files honour the umask."""
    aclib.setup(t, ac_campaigns=4, ac_contacts=30)
    aclib.sync(t)
    r = t.espsync('--json', 'export', 'csv', expect=0)
    flat = csv_files(t.path('data', 'exports'))
    check(flat and all(os.path.dirname(p) == t.path('data', 'exports')
                       for p in flat),
          'one account: want the flat layout, got %r' % flat[:3])
    check(json.loads(r.out)['files'] == len(flat), 'one account: printed '
          '%s files, %d on disk' % (json.loads(r.out)['files'], len(flat)))
    aclib.sync(t, '--account', 'second')
    os.umask(0o027)
    try:
        r = t.espsync('--json', 'export', 'csv', expect=0)
    finally:
        os.umask(0o022)
    root = t.path('data', 'exports', 'activecampaign')
    dirs = sorted(os.listdir(root)) if os.path.isdir(root) else []
    check(len(dirs) == 2 and 'second' in dirs,
          'want one directory per account under %s, got %r' % (root, dirs))
    first = csv_files(os.path.join(root, [d for d in dirs
                                          if d != 'second'][0]))
    second = csv_files(os.path.join(root, 'second'))
    check(first and len(first) == len(second),
          'two accounts: %d and %d files' % (len(first), len(second)))
    printed = json.loads(r.out)['files']
    check(printed == len(first) + len(second),
          'printed %d files, %d on disk' % (printed,
                                            len(first) + len(second)))
    mode = os.stat(second[0]).st_mode & 0o777
    check(mode == 0o640, 'umask 027 gave mode %o' % mode)
