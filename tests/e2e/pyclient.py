"""A client of the espsync Python bindings for tests/e2e/test_python.py,
run by Debian's python3 with PYTHONPATH=bindings/python.

    python3 pyclient.py '{"init": {...Sync kwargs...},
                          "progress": null | "collect" | "raise_after:N"
                                      | "cancel_after:N",
                          "calls": [["sync_all_campaigns", {kwargs}], ...]}'

Prints one JSON object on stdout: {"library": path, "version": ...,
"results": [...], "events": [...]} where each result is {"ok": value} or
{"error": {"class", "code", "kind", "message", "summary"}}; a failing
call ends the list. Exit status 0 unless the client itself broke.
"""

import json
import signal
import sys

import espsync


class Stop(Exception):
    pass


def main():
    spec = json.loads(sys.argv[1])
    events = []
    progress = None
    mode = spec.get('progress')
    if mode == 'collect':
        progress = events.append
    elif mode and mode.startswith('raise_after:'):
        limit = int(mode.split(':', 1)[1])

        def progress(ev):
            events.append(ev)
            if len(events) >= limit:
                raise Stop('stopped by the progress callback')

    elif mode and mode.startswith('cancel_after:'):
        limit = int(mode.split(':', 1)[1])

        def progress(ev):
            events.append(ev)
            if len(events) == limit:
                s.cancel(signal.SIGTERM)

    out = {'results': [], 'events': events}
    try:
        out['library'] = espsync.library_path()
        out['version'] = espsync.version()
        out['api_version'] = espsync.api_version()
    except OSError as e:
        out['load_error'] = str(e)
    try:
        s = espsync.Sync(progress=progress, **spec.get('init', {}))
    except espsync.Error as e:
        out['results'].append({'error': describe(e)})
        print(json.dumps(out))
        return 0
    except OSError as e:
        out['results'].append({'error': {'class': 'OSError',
                                         'message': str(e)}})
        print(json.dumps(out))
        return 0
    with s:
        for name, kwargs in spec.get('calls', []):
            try:
                out['results'].append({'ok': getattr(s, name)(**kwargs)})
            except espsync.Error as e:
                out['results'].append({'error': describe(e)})
                break
            except Stop as e:
                out['results'].append({'error': {'class': 'Stop',
                                                 'message': str(e)},
                                       'last_summary': s.last_summary})
                break
    print(json.dumps(out))
    return 0


def describe(e):
    return {'class': type(e).__name__, 'code': e.code, 'kind': e.kind,
            'message': e.message, 'str': str(e), 'summary': e.summary,
            'is_error': isinstance(e, espsync.Error)}


if __name__ == '__main__':
    sys.exit(main())
