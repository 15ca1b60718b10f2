"""Bad inputs from outside (issue 10): an API URL that answers a web page,
an API that refuses connections, configuration typos, exports of several
accounts in one store."""

import http.server
import json
import os
import socket
import threading

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
