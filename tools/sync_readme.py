"""Write README.md from nbs/index.ipynb (quarto, which `nbdev-readme` needs, is not available offline).

Markdown cells are copied as they are; code cells become ```python blocks followed by their text output.
`python tools/sync_readme.py --check` exits 1 when README.md is out of step (the test suite runs that).
"""
import json, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def render(nb_path=ROOT / 'nbs' / 'index.ipynb') -> str:
    nb = json.loads(Path(nb_path).read_text())
    out = []
    for cell in nb['cells']:
        src = ''.join(cell['source']).rstrip()
        if not src or src.startswith('#|') and src.splitlines()[0].strip() in ('#| hide', '#|hide'): continue
        if cell['cell_type'] == 'markdown':
            out.append(src.replace('](images/', '](nbs/images/'))   # README sits one folder above the notebooks
        elif cell['cell_type'] == 'code':
            lines = [l for l in src.splitlines() if not l.startswith('#|')]
            if lines: out.append('```python\n' + '\n'.join(lines) + '\n```')
            text = ''.join(''.join(o.get('text', '')) if o.get('output_type') == 'stream'
                           else ''.join(o.get('data', {}).get('text/plain', '')) for o in cell.get('outputs', []))
            if text.strip(): out.append('```\n' + text.rstrip() + '\n```')
    return '\n\n'.join(out) + '\n'

if __name__ == '__main__':
    txt, readme = render(), ROOT / 'README.md'
    if '--check' in sys.argv:
        if readme.read_text() != txt: sys.exit('README.md is out of step with nbs/index.ipynb: run python tools/sync_readme.py')
    else: readme.write_text(txt)
