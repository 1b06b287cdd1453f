import os
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = Path(os.environ.get('COORDTOK_REFERENCE', ROOT.parent / 'shared' / 'reference'))

@pytest.fixture(scope='session')
def reference_dir():
    if not REFERENCE.exists(): pytest.skip(f'reference tensors not found at {REFERENCE} (set COORDTOK_REFERENCE)')
    return REFERENCE
