"Run every notebook in nbs/ through nbdev's test machinery (cells flagged `cuda` or `slow` are skipped)."
from pathlib import Path
import pytest
from nbdev.config import get_config
from nbdev import test as nbtest

ROOT = Path(__file__).resolve().parents[1]
NBS = sorted(p for p in (ROOT / 'nbs').glob('*.ipynb') if not p.name.startswith('_'))

@pytest.mark.parametrize('nb', NBS, ids=[p.stem for p in NBS])
def test_notebook(nb, monkeypatch):
    cfg = get_config(ROOT)
    flags = cfg.tst_flags.split() if isinstance(cfg.tst_flags, str) else list(cfg.tst_flags)
    monkeypatch.chdir(nb.parent)
    ok, secs = nbtest.test_nb(nb, skip_flags=flags, basepath=str(ROOT), cell_timeout=cfg.cell_timeout)
    assert ok, f'{nb.name} failed (traceback above)'
