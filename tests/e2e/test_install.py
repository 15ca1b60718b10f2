"""Packaging: `make install` into a temporary DESTDIR gives a tree that a C
program builds against with `pkg-config --cflags --libs espsync` (and
statically with `pkg-config --static`), `make uninstall` removes every file
again, and `make deb` gives a package whose Depends names the libraries
actually linked and whose files, unpacked with `dpkg -x`, run.

When docs/examples/sync_example.c exists, it is compiled against the
installed tree (and the unpacked package) and run against the simulator:
`sync_example ENV_FILE` in the test's scratch directory must exit 0 with the
store equal to the simulator's truth.

Both tests skip a sanitizer build (the packages are made from the plain
one) and never install anything outside their scratch directory."""

import glob
import os
import shlex
import subprocess
import threading

import lib
from lib import check, fail

BUILD = os.path.dirname(os.path.abspath(lib.ESPSYNC))
EXAMPLE = os.path.join(lib.REPO, 'docs', 'examples', 'sync_example.c')

# Prints what `espsync --version` prints, from the library.
VERSION_PROGRAM = r'''
#include <espsync.h>
#include <stdio.h>

int main(void)
{
	if (espsync_api_version() != ESPSYNC_API_VERSION)
		return 1;
	printf("espsync %s\n", espsync_version());
	return 0;
}
'''

# make runs one at a time (the two tests may run side by side and would
# otherwise both rebuild a stale library).
MAKE_LOCK = threading.Lock()


def run(argv, what, env=None, cwd=None, timeout=120, expect=0):
    e = dict(os.environ)
    for k in ('MAKEFLAGS', 'MFLAGS', 'MAKELEVEL', 'LD_LIBRARY_PATH',
              'PKG_CONFIG_PATH', 'PKG_CONFIG_LIBDIR',
              'PKG_CONFIG_SYSROOT_DIR'):
        e.pop(k, None)
    e.update(env or {})
    try:
        p = subprocess.run(argv, env=e, cwd=cwd, stdin=subprocess.DEVNULL,
                           capture_output=True,
                           timeout=timeout * lib.TIMEOUT_SCALE)
    except subprocess.TimeoutExpired:
        fail('%s timed out' % what)
    except OSError as exc:
        fail('%s: cannot run %s: %s' % (what, argv[0], exc))
    out = p.stdout.decode('utf-8', 'replace')
    err = p.stderr.decode('utf-8', 'replace')
    lib.LEAKS.scan_text(what + ' stdout', p.stdout)
    lib.LEAKS.scan_text(what + ' stderr', p.stderr)
    if expect is not None and p.returncode != expect:
        fail('%s: exit %d, expected %d' % (what, p.returncode, expect),
             [lib.mask(x) for x in (err or out).splitlines()[-10:]])
    return out


def make(*targets):
    argv = ['make', '-C', lib.REPO, '--no-print-directory'] + list(targets)
    if BUILD != os.path.join(lib.REPO, 'build'):
        argv.append('BUILD=' + BUILD)
    with MAKE_LOCK:
        return run(argv, 'make ' + ' '.join(targets), timeout=900)


def sanitizer_build(t):
    out = run(['readelf', '-d', lib.ESPSYNC], 'readelf -d espsync')
    if 'libasan' in out or 'libubsan' in out:
        t.note('skipped: sanitizer build')
        return True
    return False


def needed(path):
    out = run(['readelf', '-d', path], 'readelf -d ' + path)
    return [ln.split('[', 1)[1].rstrip(']') for ln in out.splitlines()
            if '(NEEDED)' in ln]


def pkg_config(root, *args):
    """pkg-config over ROOT's espsync.pc only, paths inside ROOT."""
    env = {'PKG_CONFIG_SYSROOT_DIR': root,
           'PKG_CONFIG_LIBDIR': os.path.join(root, 'usr', 'lib',
                                             'pkgconfig')}
    out = run(['pkg-config'] + list(args) + ['espsync'],
              'pkg-config %s espsync' % ' '.join(args), env=env)
    return shlex.split(out)


def build_against(t, root, src, name):
    """Compiles SRC against ROOT's tree with pkg-config: NAME (shared
    libespsync) and NAME-static (libespsync.a)."""
    cflags = pkg_config(root, '--cflags')
    check(any(f.startswith('-I' + root) for f in cflags),
          'pkg-config --cflags gives no include directory in %s: %s'
          % (root, cflags))
    libs = pkg_config(root, '--libs')
    check('-lespsync' in libs and any(f.startswith('-L' + root)
                                      for f in libs),
          'pkg-config --libs: %s' % libs)
    exe = t.path(name)
    run(['cc', '-std=c11', '-Wall', '-Werror', '-o', exe, src] + cflags +
        libs, 'cc %s (pkg-config)' % os.path.basename(src))
    check('libespsync.so.0' in needed(exe),
          '%s does not link libespsync.so.0: %s' % (name, needed(exe)))

    # --static adds Libs.private: libespsync.a's own dependencies.
    static_libs = pkg_config(root, '--static', '--libs-only-l')
    check('-lcurl' in static_libs,
          'pkg-config --static --libs lacks the private libraries: %s'
          % static_libs)
    archive = os.path.join(root, 'usr', 'lib', 'libespsync.a')
    static_exe = exe + '-static'
    run(['cc', '-std=c11', '-Wall', '-Werror', '-o', static_exe, src] +
        cflags + [archive] + [f for f in static_libs if f != '-lespsync'],
        'cc %s (pkg-config --static)' % os.path.basename(src))
    check(not any(n.startswith('libespsync') for n in needed(static_exe)),
          '%s-static links a shared libespsync' % name)
    return exe, static_exe


def check_programs(t, root, version_line):
    """The version program and, when it exists, the example, built against
    ROOT and run from there."""
    src = t.path('version.c')
    with open(src, 'w') as f:
        f.write(VERSION_PROGRAM)
    exe, static_exe = build_against(t, root, src, 'version')
    libdir = {'LD_LIBRARY_PATH': os.path.join(root, 'usr', 'lib')}
    got = run([exe], 'version program', env=libdir).strip()
    check(got == version_line,
          'espsync_version() printed %r, espsync --version %r'
          % (got, version_line))
    got = run([static_exe], 'version program (static)').strip()
    check(got == version_line,
          'static espsync_version() printed %r, espsync --version %r'
          % (got, version_line))

    if not os.path.exists(EXAMPLE):
        t.note('no docs/examples/sync_example.c yet')
        return
    exe, _ = build_against(t, root, EXAMPLE, 'sync_example')
    sim = t.sim()
    db = t.path('example.db')
    out = run([exe, 'sqlite:' + db, sim.url], 'sync_example', cwd=t.scratch,
              timeout=180,
              env=dict(libdir, HOME=t.scratch, TZ='UTC',
                       MONGOC_DISABLE_SHM='1', EMAILOCTOPUS_API_KEY=lib.KEY))
    lib.assert_equals_truth(db, sim.truth(), what='sync_example store')
    t.note('sync_example: %s' % (out.strip().splitlines() or ['-'])[-1])


def tree_files(root):
    found = []
    for d, _, files in os.walk(root):
        found += [os.path.relpath(os.path.join(d, f), root) for f in files]
    return sorted(found)


def expected_files(version):
    units = sorted(os.path.basename(p) for p in
                   glob.glob(os.path.join(lib.REPO, 'docs', 'systemd', '*'))
                   if p.endswith(('.service', '.timer')))
    check(units, 'no systemd units in docs/systemd')
    return sorted(['usr/bin/espsync', 'usr/include/espsync.h',
                   'usr/lib/libespsync.a', 'usr/lib/libespsync.so',
                   'usr/lib/libespsync.so.0',
                   'usr/lib/libespsync.so.' + version,
                   'usr/lib/pkgconfig/espsync.pc',
                   'usr/share/man/man1/espsync.1'] +
                  ['usr/share/doc/espsync/' + u for u in units])


def espsync_version():
    line = run([lib.ESPSYNC, '--version'], 'espsync --version').strip()
    check(line.startswith('espsync '), 'espsync --version: %r' % line)
    return line, line.split()[1]


def test_install_pkgconfig(t):
    if sanitizer_build(t):
        return
    version_line, version = espsync_version()
    root = t.path('destdir')
    make('install', 'DESTDIR=' + root, 'PREFIX=/usr')
    got = tree_files(root)
    want = expected_files(version)
    check(got == want, 'make install wrote other files than expected',
          ['extra: %s' % sorted(set(got) - set(want)),
           'missing: %s' % sorted(set(want) - set(got))])
    for link, target in (('libespsync.so', 'libespsync.so.0'),
                         ('libespsync.so.0', 'libespsync.so.' + version)):
        p = os.path.join(root, 'usr', 'lib', link)
        check(os.path.islink(p) and os.readlink(p) == target,
              '%s is not a link to %s' % (link, target))
    with open(os.path.join(root, 'usr/lib/pkgconfig/espsync.pc')) as f:
        pc = f.read()
    check('prefix=/usr\n' in pc and 'Version: %s\n' % version in pc,
          'espsync.pc: wrong prefix or version', pc.splitlines())
    got = run([os.path.join(root, 'usr', 'bin', 'espsync'), '--version'],
              'installed espsync --version').strip()
    check(got == version_line, 'installed espsync --version: %r' % got)

    check_programs(t, root, version_line)

    make('uninstall', 'DESTDIR=' + root, 'PREFIX=/usr')
    left = tree_files(root)
    check(not left, 'make uninstall left files', left)


def test_deb_package(t):
    if sanitizer_build(t):
        return
    version_line, version = espsync_version()
    arch = run(['dpkg', '--print-architecture'], 'dpkg').strip()
    deb = os.path.join(BUILD, 'espsync_%s_%s.deb' % (version, arch))
    if os.path.exists(deb):
        os.unlink(deb)
    make('deb')
    check(os.path.exists(deb), 'make deb wrote no %s' % deb)

    info = run(['dpkg-deb', '-I', deb], 'dpkg-deb -I')
    fields = {}
    for ln in info.splitlines():
        k, sep, v = ln.strip().partition(': ')
        if sep and k[:1].isupper() and ' ' not in k:
            fields.setdefault(k, v)
    for k, v in (('Package', 'espsync'), ('Version', version),
                 ('Architecture', arch)):
        check(fields.get(k) == v, 'deb %s is %r, not %r'
              % (k, fields.get(k), v), info.splitlines()[:20])
    for k in ('Maintainer', 'Description', 'Section', 'Priority'):
        check(fields.get(k), 'deb has no %s field' % k)
    depends = [d.strip() for d in fields.get('Depends', '').split(',')]
    names = {d.split()[0] for d in depends if d}
    for pkg in ('libc6', 'libcurl4', 'libsqlite3-0', 'libcjson1'):
        check(pkg in names, 'deb Depends lacks %s: %s' % (pkg, depends))
    check(all('(>= ' in d for d in depends),
          'deb Depends without a version: %s' % depends)

    root = t.path('debroot')
    run(['dpkg', '-x', deb, root], 'dpkg -x')
    got = tree_files(root)
    want = expected_files(version)
    check(got == want, 'the deb holds other files than expected',
          ['extra: %s' % sorted(set(got) - set(want)),
           'missing: %s' % sorted(set(want) - set(got))])
    for n in needed(os.path.join(root, 'usr', 'bin', 'espsync')):
        check(not n.startswith('libespsync'),
              'usr/bin/espsync links %s (it links libespsync.a)' % n)
    for u in glob.glob(os.path.join(root, 'usr/share/doc/espsync/*.service')):
        with open(u) as f:
            unit = f.read()
        check('ExecStart=/usr/bin/espsync ' in unit,
              '%s does not run /usr/bin/espsync' % os.path.basename(u))
    got = run([os.path.join(root, 'usr', 'bin', 'espsync'), '--version'],
              'unpacked espsync --version').strip()
    check(got == version_line, 'unpacked espsync --version: %r' % got)
    t.note('Depends: %s' % ', '.join(depends))

    check_programs(t, root, version_line)
