import subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def test_readme_in_step_with_index():
    r = subprocess.run([sys.executable, str(ROOT / 'tools' / 'sync_readme.py'), '--check'], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr

def test_readme_names_the_two_commands():
    txt = (ROOT / 'README.md').read_text()
    for marker in ('<!-- demo:start -->', '<!-- tests:start -->'): assert marker in txt
    assert 'coordtok demo' in txt and '.venv/bin/pytest' in txt
