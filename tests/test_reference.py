"The reference tensors ship with the repository: every test and notebook finds them there, nothing reads beside the clone."
from pathlib import Path
import torch
from coordtok.convert import reference_dir as find_reference

ROOT = Path(__file__).resolve().parents[1]
FILES = ('official_coordtok_tiny.pt', 'official_sit_tiny.pt', 'official_sampler_tiny.pt', 'i3d_compact.pt')

def test_reference_files_ship_with_the_repository(reference_dir):
    for f in FILES:
        ref = torch.load(reference_dir / f, weights_only=True)                       # plain tensors and dicts only
        assert isinstance(ref['notes'], str) and ref['notes'], f
    shipped = ROOT / 'tests' / 'reference'
    text = (shipped / 'README.md').read_text()
    assert all(f in text for f in FILES)
    assert sum((shipped / f).stat().st_size for f in FILES) < 10e6                     # the repository stays small

def test_default_folder_is_in_the_repository(monkeypatch):
    monkeypatch.delenv('COORDTOK_REFERENCE', raising=False)
    assert find_reference() == ROOT / 'tests' / 'reference'                             # the imported package's repository
    monkeypatch.setenv('COORDTOK_REFERENCE', str(ROOT / 'nbs'))
    assert find_reference() == ROOT / 'nbs'                                             # the variable overrides it
    monkeypatch.setenv('COORDTOK_REFERENCE', str(ROOT / 'no-such-folder'))
    try: find_reference(); raise AssertionError('a missing folder must raise')
    except FileNotFoundError as e: assert 'no-such-folder' in str(e) and 'COORDTOK_REFERENCE' in str(e)

def test_nothing_reads_beside_the_clone():
    "Neither the package nor the tests, notebooks or CI script name the workplace folder next to the repository."
    bad = ('..' + '/shared', 'shared' + '/reference')                                   # spelled apart so this file does not match
    hits = [f'{p.relative_to(ROOT)}: {b}' for d in ('nbs', 'tests', 'coordtok', '.ci') for p in sorted((ROOT / d).rglob('*'))
            if p.is_file() and p.suffix in ('.py', '.ipynb', '.md', '') for b in bad if b in p.read_text(errors='ignore')]
    assert not hits, hits
