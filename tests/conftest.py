import os, signal, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
# the reference tensors ship with the repository (tests/reference/README.md); $COORDTOK_REFERENCE may point elsewhere
REFERENCE = Path(os.environ.get('COORDTOK_REFERENCE') or ROOT / 'tests' / 'reference')

@pytest.fixture(scope='session')
def reference_dir():
    "The folder of reference tensors. It is part of the repository, so a missing one fails the test: it is never skipped."
    if not REFERENCE.is_dir():
        pytest.fail(f'reference tensors not found at {REFERENCE}: they ship with the repository in tests/reference/ '
                    f'(COORDTOK_REFERENCE={os.environ.get("COORDTOK_REFERENCE")!r})', pytrace=False)
    return REFERENCE


@pytest.fixture
def killed_in_a_checkpoint():
    "Run tests/jobs/die_in_checkpoint.py for a trainer: killed while `fit` writes its third checkpoint, it must leave the second intact and resume from it."
    from coordtok.runtime import load_checkpoint
    def run(kind: str, out: Path, *args: str):
        job, env = [sys.executable, str(ROOT / 'tests' / 'jobs' / 'die_in_checkpoint.py'), kind, str(out), *args], dict(os.environ, OMP_NUM_THREADS='1')
        r = subprocess.run(job, env=env, capture_output=True, timeout=300)
        assert r.returncode == -signal.SIGKILL, r.stderr[-3000:]
        assert load_checkpoint(out / 'last.pt')['step'] == 2                 # the last complete checkpoint, intact
        assert list(out.glob('.last.pt.tmp-*'))                              # the half-written one is a temporary, never last.pt
        r = subprocess.run(job, env=dict(env, COORDTOK_JOB_SURVIVE='1'), capture_output=True, timeout=300)
        assert r.returncode == 0, r.stderr[-3000:]
        assert load_checkpoint(out / 'last.pt')['step'] == 5                 # resumed from step 2 and finished
        assert not list(out.glob('.last.pt.tmp-*'))                          # and the killed save's temporary is gone
    return run
