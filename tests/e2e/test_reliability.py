"""The pieces of the reliability report (tests/reliability/reliability.py,
`make reliability`) at small scale: a SIGKILL and a SIGTERM trial per
provider, two concurrent syncs with and without --wait, and the whole
bad-input catalogue; rows lost, duplicated and wrong exit codes must all
be 0. (Every fault mode at once takes a minute and a half of backoff; the
fault modes are tested one or two at a time in test_resilience.py.)"""

import os
import sys

import lib
from lib import check

sys.path.insert(0, os.path.join(lib.HERE, '..', 'reliability'))

import reliability  # noqa: E402


def test_reliability_small(t):
    rows = reliability.run(kills=1, terms=1, concurrent=2, seed=3,
                           log=t.note, fault_providers=())
    bad = [r for r in rows if not r.is_clean()]
    check(not bad, 'reliability: %s' % '; '.join(
        '%s: lost %d, duplicated %d, wrong exits %d, other %d (%s)' % (
            r.name, r.lost, r.dup, r.wrong_exit, r.other,
            ' | '.join(r.notes[:3])) for r in bad))
