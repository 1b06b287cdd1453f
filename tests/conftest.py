import os
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
