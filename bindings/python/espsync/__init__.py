"""espsync from Python: the libespsync C library (include/espsync.h) through
ctypes, standard library only.

    import espsync

    with espsync.Sync(store='sqlite:data/espsync.db', env_file='.env') as s:
        stats = s.sync_all_campaigns()
        print('synced %d campaigns' % stats['campaigns_processed'])
        count = s.export_all_to_csv()

The methods are the earlier Python tool's (CampaignSync): sync_all_campaigns,
sync_campaign, sync_incremental, export_all_to_csv, plus stats, state_reset
and check. Failures raise espsync.Error subclasses named after the exit codes
of the `espsync` command; their messages never hold a secret.

Where the library is found, in order: the `library` argument or the
ESPSYNC_LIBRARY environment variable (an explicit path: nothing else is
tried), the build tree of the checkout this package sits in
(build/libespsync.so.0), then the system (ctypes.util.find_library, then
"libespsync.so.0" through the dynamic loader's search path).
"""

import ctypes
import ctypes.util
import datetime
import os
import signal
import threading

__all__ = [
    'API_VERSION', 'Sync', 'Error', 'RuntimeFailure', 'UsageError',
    'Partial', 'AuthRejected', 'StoreUnavailable', 'NotFound', 'Busy',
    'Interrupted', 'version', 'api_version', 'library_path',
]

# The interface this module was written against (ESPSYNC_API_VERSION).
API_VERSION = 1

_HERE = os.path.dirname(os.path.abspath(__file__))
# bindings/python/espsync -> the checkout's build directory.
_BUILD_LIBRARY = os.path.normpath(os.path.join(
    _HERE, '..', '..', '..', 'build', 'libespsync.so.0'))
_SONAME = 'libespsync.so.0'

# ---------------------------------------------------------------- structs
# Field for field the structs of include/espsync.h; ctypes lays them out as
# the C compiler does (tests/e2e/test_python.py compares the sizes and
# offsets with a program compiled against the header).

STREAMS = ('campaigns', 'reports', 'participants', 'activities',
           'contacts', 'lists')  # enum espsync_stream
# enum espsync_event_type, named as `espsync --json stats` names them.
EVENT_TYPES = ('sent', 'open', 'click', 'bounce', 'complaint', 'unsubscribe')
MAX_PROVIDERS = 16

EVENT_PAGE, EVENT_CAMPAIGN, EVENT_PROVIDER = 1, 2, 3
_EVENT_KINDS = {EVENT_PAGE: 'page', EVENT_CAMPAIGN: 'campaign',
                EVENT_PROVIDER: 'provider'}
MODE_DEFAULT, MODE_FULL, MODE_INCREMENTAL = 0, 1, 2
_CHECK_SECTIONS = {1: 'setting', 2: 'store', 3: 'provider'}


class ProviderResult(ctypes.Structure):
    _fields_ = [
        ('provider', ctypes.c_char * 32),
        ('account', ctypes.c_char * 160),
        ('exit_code', ctypes.c_int),
        ('status', ctypes.c_char * 16),
        ('error_kind', ctypes.c_char * 16),
        ('error_message', ctypes.c_char * 256),
        ('run_id', ctypes.c_int64),
        ('requests', ctypes.c_int64),
        ('retries', ctypes.c_int64),
        ('throttled', ctypes.c_int64),
        ('records', ctypes.c_int64 * len(STREAMS)),
        ('events', ctypes.c_int64),
        ('rows_inserted', ctypes.c_int64),
        ('rows_updated', ctypes.c_int64),
        ('rows_unchanged', ctypes.c_int64),
        ('campaigns_skipped', ctypes.c_int64),
        ('campaigns_remaining', ctypes.c_int64),
        ('events_outside_retention', ctypes.c_int64),
        ('store_requests', ctypes.c_int64),
        ('store_jobs', ctypes.c_int64),
        ('store_bytes_uploaded', ctypes.c_int64),
        ('elapsed_s', ctypes.c_double),
    ]


class Event(ctypes.Structure):
    _fields_ = [
        ('kind', ctypes.c_int),
        ('provider', ctypes.c_char_p),
        ('account', ctypes.c_char_p),
        ('stream', ctypes.c_char_p),
        ('records', ctypes.c_int64),
        ('done', ctypes.c_int64),
        ('total', ctypes.c_int64),
        ('campaign_id', ctypes.c_char_p),
        ('is_skipped', ctypes.c_int),
        ('result', ctypes.POINTER(ProviderResult)),
    ]


class SyncOptions(ctypes.Structure):
    _fields_ = [
        ('size', ctypes.c_size_t),
        ('provider', ctypes.c_char_p),
        ('campaign_id', ctypes.c_char_p),
        ('mode', ctypes.c_int),
        ('hours', ctypes.c_int64),
        ('streams', ctypes.c_char_p),
        ('max_runtime_ms', ctypes.c_int64),
        ('wait_ms', ctypes.c_int64),
    ]


class SyncSummary(ctypes.Structure):
    _fields_ = [
        ('size', ctypes.c_size_t),
        ('exit_code', ctypes.c_int),
        ('status', ctypes.c_char * 16),
        ('n_providers', ctypes.c_size_t),
        ('providers', ProviderResult * MAX_PROVIDERS),
        ('requests', ctypes.c_int64),
        ('events', ctypes.c_int64),
        ('campaigns_skipped', ctypes.c_int64),
        ('campaigns_remaining', ctypes.c_int64),
        ('elapsed_s', ctypes.c_double),
    ]


class ExportOptions(ctypes.Structure):
    _fields_ = [
        ('size', ctypes.c_size_t),
        ('dir', ctypes.c_char_p),
        ('provider', ctypes.c_char_p),
        ('campaign_id', ctypes.c_char_p),
        ('columns_map', ctypes.c_char_p),
        ('no_formula_protect', ctypes.c_int),
        ('combined', ctypes.c_char_p),
    ]


class ExportResult(ctypes.Structure):
    _fields_ = [
        ('size', ctypes.c_size_t),
        ('files', ctypes.c_int64),
        ('rows', ctypes.c_int64),
    ]


class Stats(ctypes.Structure):
    _fields_ = [
        ('size', ctypes.c_size_t),
        ('campaigns', ctypes.c_int64),
        ('participants', ctypes.c_int64),
        ('links', ctypes.c_int64),
        ('contacts', ctypes.c_int64),
        ('lists', ctypes.c_int64),
        ('events', ctypes.c_int64 * len(EVENT_TYPES)),
        ('csv_files', ctypes.c_int64),
        ('events_outside_retention', ctypes.c_int64),
        ('retention_days', ctypes.c_int),
        ('has_last_run', ctypes.c_int),
        ('last_run_id', ctypes.c_int64),
        ('last_run_provider', ctypes.c_char * 32),
        ('last_run_status', ctypes.c_char * 16),
        ('last_run_started_at', ctypes.c_int64),
        ('last_run_finished_at', ctypes.c_int64),
        ('last_run_account', ctypes.c_char * 160),
        ('last_run_requests', ctypes.c_int64),
        ('verified_campaigns', ctypes.c_int64),
        ('verified_opens', ctypes.c_int64),
        ('verified_unique_opens', ctypes.c_int64),
        ('verified_campaigns_opens', ctypes.c_int64),
        ('verified_campaigns_unique_opens', ctypes.c_int64),
    ]


class CheckItem(ctypes.Structure):
    _fields_ = [
        ('section', ctypes.c_int),
        ('name', ctypes.c_char_p),
        ('value', ctypes.c_char_p),
        ('detail', ctypes.c_char_p),
        ('exit_code', ctypes.c_int),
        ('latency_ms', ctypes.c_int64),
        ('source', ctypes.c_char_p),
        ('error_kind', ctypes.c_char_p),
        ('error_message', ctypes.c_char_p),
        ('http_status', ctypes.c_long),
        ('is_secret', ctypes.c_int),
    ]


STRUCTS = {
    'espsync_provider_result': ProviderResult,
    'espsync_event': Event,
    'espsync_sync_options': SyncOptions,
    'espsync_sync_summary': SyncSummary,
    'espsync_export_options': ExportOptions,
    'espsync_export_result': ExportResult,
    'espsync_stats': Stats,
    'espsync_check_item': CheckItem,
}

_PROGRESS_FN = ctypes.CFUNCTYPE(None, ctypes.POINTER(Event), ctypes.c_void_p)
_CHECK_FN = ctypes.CFUNCTYPE(None, ctypes.POINTER(CheckItem),
                             ctypes.c_void_p)

# ---------------------------------------------------------------- errors


class Error(Exception):
    """A failed call. code: the `espsync` command's exit code for it;
    kind: the library's error kind ("auth", "store", "not_found", ...);
    message: one line, never a secret; summary: the sync summary dict when
    the failure ended a sync (else None)."""

    code = None

    def __init__(self, message, code=None, kind='', summary=None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.kind = kind
        self.summary = summary


class RuntimeFailure(Error):
    """Exit code 1: network, provider or local failure."""
    code = 1


class UsageError(Error):
    """Exit code 2: a bad setting, option or argument."""
    code = 2


class Partial(Error):
    """Exit code 3: the time budget (max_runtime, ESPSYNC_MAX_RUNTIME) ran
    out; checkpoints are saved and the next sync continues. .summary holds
    what the sync did, with campaigns_remaining."""
    code = 3


class AuthRejected(Error):
    """Exit code 4: the provider rejected the credentials."""
    code = 4


class StoreUnavailable(Error):
    """Exit code 5: the store is unreachable or failing."""
    code = 5


class NotFound(Error):
    """Exit code 6: an unknown campaign or object."""
    code = 6


class Busy(Error):
    """Exit code 7: another sync holds the provider account."""
    code = 7


class Interrupted(Error):
    """Exit code 130 or 143: Sync.cancel() stopped the sync (a
    KeyboardInterrupt during a sync is re-raised as KeyboardInterrupt
    instead). Checkpoints are saved."""
    code = 130


_ERRORS = {1: RuntimeFailure, 2: UsageError, 3: Partial, 4: AuthRejected,
           5: StoreUnavailable, 6: NotFound, 7: Busy, 130: Interrupted,
           143: Interrupted}


def _error(code, kind, message, summary=None):
    cls = _ERRORS.get(code, Error)
    return cls(message or 'espsync failed (exit %d)' % code, code, kind,
               summary)


# ---------------------------------------------------------------- library

def _s(b):
    """A C string from the library as str (None stays None)."""
    if b is None:
        return None
    return b.decode('utf-8', 'replace')


def _b(s):
    """A str (or path) for the library, or None."""
    if s is None:
        return None
    if isinstance(s, bytes):
        return s
    if isinstance(s, os.PathLike):
        return os.fsencode(s)
    return str(s).encode('utf-8')


class _Library:
    """One loaded libespsync with its prototypes declared."""

    def __init__(self, path):
        self.path = path
        dll = ctypes.CDLL(path)
        self.dll = dll
        P = ctypes.c_void_p
        sigs = {
            'espsync_version': (ctypes.c_char_p, []),
            'espsync_api_version': (ctypes.c_int, []),
            'espsync_new': (P, []),
            'espsync_free': (None, [P]),
            'espsync_set': (ctypes.c_int, [P, ctypes.c_char_p,
                                           ctypes.c_char_p]),
            'espsync_set_env_file': (ctypes.c_int, [P, ctypes.c_char_p]),
            'espsync_set_verbosity': (None, [P, ctypes.c_int]),
            'espsync_error_message': (ctypes.c_char_p, [P]),
            'espsync_error_kind': (ctypes.c_char_p, [P]),
            'espsync_error_code': (ctypes.c_int, [P]),
            'espsync_set_progress': (None, [P, _PROGRESS_FN, P]),
            'espsync_cancel': (None, [P, ctypes.c_int]),
            'espsync_sync': (ctypes.c_int, [P, ctypes.POINTER(SyncOptions),
                                            ctypes.POINTER(SyncSummary)]),
            'espsync_export_csv': (ctypes.c_int,
                                   [P, ctypes.POINTER(ExportOptions),
                                    ctypes.POINTER(ExportResult)]),
            'espsync_stats': (ctypes.c_int, [P, ctypes.c_char_p,
                                             ctypes.POINTER(Stats)]),
            'espsync_state_reset': (ctypes.c_int,
                                    [P, ctypes.c_char_p, ctypes.c_char_p,
                                     ctypes.POINTER(ctypes.c_int64)]),
            'espsync_check': (ctypes.c_int, [P, ctypes.c_char_p, _CHECK_FN,
                                             P]),
        }
        for name, (res, args) in sigs.items():
            f = getattr(dll, name)  # AttributeError: not a libespsync
            f.restype = res
            f.argtypes = args
            setattr(self, name[len('espsync_'):], f)
        got = self.api_version()
        if got != API_VERSION:
            raise ImportError('%s has API version %d; this module needs %d'
                              % (path, got, API_VERSION))


_loaded = {}
_load_lock = threading.Lock()


def _candidates(library):
    if library is None:
        library = os.environ.get('ESPSYNC_LIBRARY') or None
    if library is not None:
        return [os.fspath(library)], True
    out = [_BUILD_LIBRARY] if os.path.exists(_BUILD_LIBRARY) else []
    found = ctypes.util.find_library('espsync')
    if found:
        out.append(found)
    out.append(_SONAME)
    return out, False


def _load(library=None):
    """The _Library for an explicit path, else the first one found."""
    names, explicit = _candidates(library)
    tried = []
    with _load_lock:
        for name in names:
            if name in _loaded:
                return _loaded[name]
            try:
                lib = _Library(name)
            except (OSError, AttributeError) as e:
                tried.append('%s (%s)' % (name, e))
                continue
            _loaded[name] = lib
            return lib
    how = ('the library given' if explicit else
           'ESPSYNC_LIBRARY, %s, the system' % _BUILD_LIBRARY)
    raise OSError('libespsync not found (looked at %s): %s; build it '
                  '(make) or install espsync, or set ESPSYNC_LIBRARY'
                  % (how, '; '.join(tried)))


# At import: the library found by default must speak API_VERSION (an
# ImportError otherwise). When none is found yet, the error comes from the
# first Sync() that needs it, so that Sync(library=...) still works.
try:
    _default = _load()
except OSError:
    _default = None


def library_path(library=None):
    """The path (or name) of the library Sync(library=library) loads."""
    return _load(library).path


def version(library=None):
    """The library's version, as `espsync --version` prints it."""
    return _s(_load(library).version())


def api_version(library=None):
    return _load(library).api_version()


# ---------------------------------------------------------------- results

def _utc(ts):
    if not ts:
        return None
    d = datetime.datetime.fromtimestamp(ts, datetime.timezone.utc)
    return d.strftime('%Y-%m-%dT%H:%M:%SZ')


def _provider_dict(r, processed):
    err = None
    if r.error_kind or r.error_message:
        err = {'kind': _s(r.error_kind), 'message': _s(r.error_message)}
    return {
        'provider': _s(r.provider),
        'account': _s(r.account),
        'status': _s(r.status),
        'exit_code': r.exit_code,
        'error': err,
        'run_id': r.run_id,
        'requests': r.requests,
        'retries': r.retries,
        'throttled': r.throttled,
        'records': {n: r.records[i] for i, n in enumerate(STREAMS)},
        'events': r.events,
        'rows_inserted': r.rows_inserted,
        'rows_updated': r.rows_updated,
        'rows_unchanged': r.rows_unchanged,
        'campaigns_processed': processed,
        'campaigns_skipped': r.campaigns_skipped,
        'campaigns_remaining': r.campaigns_remaining,
        'events_outside_retention': r.events_outside_retention,
        'store_requests': r.store_requests,
        'store_jobs': r.store_jobs,
        'store_bytes_uploaded': r.store_bytes_uploaded,
        'elapsed_s': r.elapsed_s,
    }


def _summary_dict(s, processed):
    n = min(s.n_providers, MAX_PROVIDERS)
    provs = [_provider_dict(s.providers[i],
                            processed.get((_s(s.providers[i].provider),
                                           _s(s.providers[i].account)), 0))
             for i in range(n)]

    def total(key):
        return sum(p[key] for p in provs)

    return {
        'status': _s(s.status),
        'exit_code': s.exit_code,
        'campaigns_processed': total('campaigns_processed'),
        'campaigns_skipped': s.campaigns_skipped,
        'campaigns_remaining': s.campaigns_remaining,
        'events': s.events,
        'requests': s.requests,
        'rows_inserted': total('rows_inserted'),
        'rows_updated': total('rows_updated'),
        'rows_unchanged': total('rows_unchanged'),
        'elapsed_s': s.elapsed_s,
        'providers': provs,
    }


def _event_dict(ev):
    d = {
        'kind': _EVENT_KINDS.get(ev.kind, ev.kind),
        'provider': _s(ev.provider),
        'account': _s(ev.account),
        'stream': _s(ev.stream),
        'records': ev.records,
        'done': ev.done,
        'total': ev.total,
        'campaign_id': _s(ev.campaign_id),
        'skipped': bool(ev.is_skipped),
        'result': None,
    }
    if ev.kind == EVENT_PROVIDER and ev.result:
        d['result'] = _provider_dict(ev.result.contents, None)
    return d


def _stats_dict(st):
    last = None
    if st.has_last_run:
        last = {
            'run_id': st.last_run_id,
            'provider': _s(st.last_run_provider),
            'account': _s(st.last_run_account),
            'status': _s(st.last_run_status),
            'started_at': _utc(st.last_run_started_at),
            'finished_at': _utc(st.last_run_finished_at),
            'requests': st.last_run_requests,
        }
    verified = None
    if st.verified_campaigns:
        verified = {
            'campaigns': st.verified_campaigns,
            'verified_opens': st.verified_opens,
            'verified_unique_opens': st.verified_unique_opens,
            'opens': st.verified_campaigns_opens,
            'unique_opens': st.verified_campaigns_unique_opens,
        }
    avg = None
    if st.campaigns:
        avg = round(st.participants / st.campaigns, 1)
    return {
        'campaigns': st.campaigns,
        'participants': st.participants,
        'avg_participants_per_campaign': avg,
        'links': st.links,
        'contacts': st.contacts,
        'lists': st.lists,
        'csv_exports': {'files': st.csv_files},
        'events': {n: st.events[i] for i, n in enumerate(EVENT_TYPES)},
        'retention_days': st.retention_days,
        'events_outside_retention': st.events_outside_retention,
        'verified_opens': verified,
        'last_run': last,
    }


# ---------------------------------------------------------------- Sync

class Sync:
    """One libespsync handle with its settings.

    store: a store URL (ESPSYNC_STORE), e.g. "sqlite:data/espsync.db" or
    "postgresql://..."; export_dir: ESPSYNC_EXPORT_DIR; env_file: a `.env`
    file read by every call (none by default: the library reads no file
    and no environment variable it was not given); settings: more `.env`
    keys as a dict (store= and export_dir= win over it); progress: a
    callable given a dict per sync event (page, campaign, provider), called
    on the sync's worker thread; an exception it raises stops the sync and
    is raised by the sync method; verbosity: -1 silent, 0 warnings and
    errors on stderr, 1 debug; library: the libespsync to load (a path).

    One call at a time per Sync (a second call from another thread while
    one runs raises RuntimeError); use one Sync per thread."""

    def __init__(self, store=None, export_dir=None, env_file=None,
                 settings=None, progress=None, verbosity=-1, library=None):
        self._lib = _load(library)
        self._ctx = None
        self._busy = threading.Lock()
        self._progress = progress
        self._processed = {}
        self._callback_error = None
        self.last_summary = None
        self.last_export = None
        ctx = self._lib.new()
        if not ctx:
            raise MemoryError('espsync_new failed')
        self._ctx = ctx
        try:
            if env_file is not None:
                self._check(self._lib.set_env_file(ctx, _b(env_file)))
            items = list((settings or {}).items())
            if store is not None:
                items.append(('ESPSYNC_STORE', store))
            if export_dir is not None:
                items.append(('ESPSYNC_EXPORT_DIR', export_dir))
            for k, v in items:
                self._check(self._lib.set(ctx, _b(k), _b(v)))
            self._lib.set_verbosity(ctx, int(verbosity))
            # Kept referenced as long as the handle lives.
            self._progress_fn = _PROGRESS_FN(self._on_event)
            self._lib.set_progress(ctx, self._progress_fn, None)
        except BaseException:
            self.close()
            raise

    # -- lifecycle
    def close(self):
        """Frees the handle; later calls raise ValueError."""
        if self._ctx:
            self._lib.free(self._ctx)
            self._ctx = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    # -- plumbing
    def _handle(self):
        if not self._ctx:
            raise ValueError('this espsync.Sync is closed')
        return self._ctx

    def _raise(self, code, summary=None):
        raise _error(code, _s(self._lib.error_kind(self._ctx)) or '',
                     _s(self._lib.error_message(self._ctx)) or '', summary)

    def _check(self, code):
        if code != 0:
            self._raise(code)

    def _enter(self):
        ctx = self._handle()
        if not self._busy.acquire(blocking=False):
            raise RuntimeError('this espsync.Sync is running another call '
                               '(one call at a time; one Sync per thread)')
        return ctx

    def _on_event(self, ev_p, _userdata):
        # On the sync's worker thread. Nothing may escape into C.
        try:
            ev = ev_p.contents
            if ev.kind == EVENT_CAMPAIGN and not ev.is_skipped:
                key = (_s(ev.provider), _s(ev.account))
                self._processed[key] = self._processed.get(key, 0) + 1
            if self._progress is not None:
                self._progress(_event_dict(ev))
        except BaseException as e:  # the callback's own failure
            if self._callback_error is None:
                self._callback_error = e
            self._lib.cancel(self._ctx, signal.SIGINT)

    def _run_sync(self, ctx, opts, export_csv):
        summary = SyncSummary()
        summary.size = ctypes.sizeof(SyncSummary)
        self._processed = {}
        self._callback_error = None
        box = {}
        finished = threading.Event()

        def work():
            try:
                box['rc'] = self._lib.sync(ctx, ctypes.byref(opts),
                                           ctypes.byref(summary))
            finally:
                finished.set()

        # The calling thread waits in short intervals so that Ctrl-C is
        # seen at once. It waits on an Event, not in Thread.join(): a
        # KeyboardInterrupt raised inside join() makes CPython 3.11 mark
        # the still running thread as stopped (threading.py, bpo-45274).
        worker = threading.Thread(target=work, name='espsync-sync',
                                  daemon=True)
        interrupt = None
        try:
            worker.start()
            while not finished.wait(0.2):
                pass
        except KeyboardInterrupt as e:
            # Stop cleanly: no new request, pages in flight committed or
            # dropped whole, checkpoints saved; then the interrupt goes on.
            # (Not once it returned: the flag would stop the next sync.)
            interrupt = e
            if not finished.is_set():
                self._lib.cancel(ctx, signal.SIGINT)
            while worker.ident is not None and not finished.is_set():
                try:
                    finished.wait(0.2)
                except KeyboardInterrupt:
                    pass  # already cancelled; the sync is stopping
        rc = box.get('rc', 1)
        result = _summary_dict(summary, self._processed)
        self.last_summary = result
        if interrupt is not None:
            raise interrupt
        if self._callback_error is not None:
            e, self._callback_error = self._callback_error, None
            raise e
        if rc != 0:
            self._raise(rc, result)
        if export_csv:
            eo = ExportOptions()
            eo.provider = opts.provider
            eo.campaign_id = opts.campaign_id
            result['csv_files'] = self._export(ctx, eo)
        return result

    def _sync(self, provider=None, campaign_id=None, mode=MODE_DEFAULT,
              hours=0, streams=None, max_runtime=None, wait=None,
              export_csv=False):
        ctx = self._enter()
        try:
            opts = SyncOptions()
            opts.size = ctypes.sizeof(SyncOptions)
            opts.provider = _b(provider)
            opts.campaign_id = _b(campaign_id)
            opts.mode = mode
            opts.hours = int(hours)
            if isinstance(streams, (list, tuple)):
                streams = ','.join(streams)
            opts.streams = _b(streams)
            if max_runtime is not None:
                opts.max_runtime_ms = max(1, int(max_runtime * 1000))
            if wait is not None:
                opts.wait_ms = int(wait * 1000)
            return self._run_sync(ctx, opts, export_csv)
        finally:
            self._busy.release()

    def _export(self, ctx, opts):
        opts.size = ctypes.sizeof(ExportOptions)
        out = ExportResult()
        out.size = ctypes.sizeof(ExportResult)
        self._check(self._lib.export_csv(ctx, ctypes.byref(opts),
                                         ctypes.byref(out)))
        self.last_export = {'files': out.files, 'rows': out.rows}
        return out.files

    # -- the earlier tool's methods
    def sync_all_campaigns(self, provider=None, full=False, streams=None,
                           max_runtime=None, wait=None, export_csv=False):
        """Syncs every configured provider (or provider) into the store and
        returns the summary dict: status, exit_code, campaigns_processed
        (campaigns whose reports were read), campaigns_skipped,
        campaigns_remaining, events, requests, rows_inserted/updated/
        unchanged, elapsed_s and providers (one dict each, with records per
        stream). full: re-read every campaign (`sync --full`);
        max_runtime: seconds of budget (Partial when reached); wait:
        seconds to wait for another sync's lease; export_csv: also write
        the csv files afterwards, as the earlier tool did (adds
        csv_files)."""
        return self._sync(provider=provider, streams=streams,
                          mode=MODE_FULL if full else MODE_DEFAULT,
                          max_runtime=max_runtime, wait=wait,
                          export_csv=export_csv)

    def sync_campaign(self, campaign_id, provider=None, max_runtime=None,
                      wait=None, export_csv=False):
        """Syncs one campaign (`sync --campaign ID`); NotFound when the
        provider has no such campaign."""
        if not campaign_id:
            raise UsageError('sync_campaign needs a campaign id', 2, 'usage')
        return self._sync(provider=provider, campaign_id=campaign_id,
                          max_runtime=max_runtime, wait=wait,
                          export_csv=export_csv)

    def sync_incremental(self, hours=24, provider=None, max_runtime=None,
                         wait=None):
        """Syncs, skipping campaigns checked less than hours ago
        (`sync --incremental --hours N`)."""
        if hours is None or int(hours) <= 0:
            raise UsageError('hours must be a positive number', 2, 'usage')
        return self._sync(provider=provider, mode=MODE_INCREMENTAL,
                          hours=hours, max_runtime=max_runtime, wait=wait)

    def export_all_to_csv(self, export_dir=None, provider=None,
                          campaign_id=None, combined=None,
                          formula_protect=True):
        """Writes the stored campaigns' participants as csv files (each
        atomically) and returns how many files were written
        (.last_export also has the rows)."""
        ctx = self._enter()
        try:
            opts = ExportOptions()
            opts.dir = _b(export_dir)
            opts.provider = _b(provider)
            opts.campaign_id = _b(campaign_id)
            opts.combined = _b(combined)
            opts.no_formula_protect = 0 if formula_protect else 1
            return self._export(ctx, opts)
        finally:
            self._busy.release()

    def stats(self, provider=None):
        """The store's totals as a dict shaped like `espsync --json stats`
        (campaigns, participants, avg_participants_per_campaign, links,
        contacts, lists, csv_exports, events, retention_days,
        events_outside_retention, last_run)."""
        ctx = self._enter()
        try:
            st = Stats()
            st.size = ctypes.sizeof(Stats)
            self._check(self._lib.stats(ctx, _b(provider), ctypes.byref(st)))
            return _stats_dict(st)
        finally:
            self._busy.release()

    def state_reset(self, provider=None, stream=None):
        """Removes checkpoints (`espsync state reset`); returns how many.
        The next sync re-reads what they covered."""
        ctx = self._enter()
        try:
            removed = ctypes.c_int64(0)
            self._check(self._lib.state_reset(ctx, _b(provider), _b(stream),
                                              ctypes.byref(removed)))
            return removed.value
        finally:
            self._busy.release()

    def check(self, provider=None):
        """The lines of `espsync check` as dicts: section ("setting",
        "store", "provider"), name, value (secrets masked), detail,
        exit_code (0: fine) and latency_ms. A failing line does not raise
        (look at its exit_code); a failure that produced no line does."""
        ctx = self._enter()
        try:
            items = []

            def on_item(p, _userdata):
                try:
                    it = p.contents
                    items.append({
                        'section': _CHECK_SECTIONS.get(it.section,
                                                       it.section),
                        'name': _s(it.name),
                        'value': _s(it.value),
                        'detail': _s(it.detail),
                        'exit_code': it.exit_code,
                        'latency_ms': it.latency_ms,
                        'source': _s(it.source),
                        'error_kind': _s(it.error_kind),
                        'error_message': _s(it.error_message),
                        'http_status': it.http_status,
                        'is_secret': bool(it.is_secret),
                    })
                except Exception:
                    pass

            fn = _CHECK_FN(on_item)
            rc = self._lib.check(ctx, _b(provider), fn, None)
            if rc != 0 and not any(i['exit_code'] == rc for i in items):
                self._raise(rc)
            return items
        finally:
            self._busy.release()

    def cancel(self, signo=signal.SIGINT):
        """Stops the running (or next) sync from another thread or a
        signal handler; the sync raises Interrupted (exit code 130, or 143
        for SIGTERM) with its checkpoints saved."""
        if self._ctx:
            self._lib.cancel(self._ctx, int(signo))
