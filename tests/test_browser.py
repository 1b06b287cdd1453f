"""The explorer tried as a user would: JupyterLab in headless Chromium, run all cells, move the frame slider.

Needs Debian's chromium at /usr/bin/chromium and Playwright's Python package (`pip install -e ".[dev]"`);
Playwright's own browser download is never used. Skipped with the reason when either is missing."""
import json, os, secrets, signal, socket, subprocess, sys, time, urllib.request
from pathlib import Path
import pytest

CHROMIUM = Path('/usr/bin/chromium')
BIN = Path(sys.executable).parent
CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
                 '--disable-background-networking', '--disable-component-update', '--disable-sync']
BUDGET_S = 110            # the whole test, JupyterLab's start and shutdown included, stays under two minutes

NOTEBOOK_CELLS = [
    "import torch\ntorch.set_num_threads(1)\n"
    "from coordtok.config import preset\nfrom coordtok.tokenizer import CoordTok\nfrom coordtok.explorer import explorer",
    "torch.manual_seed(0)\nui = explorer(CoordTok(preset('tiny')).eval(), 0)   # a tiny random model, a 16-frame 32x32 clip\nui",
]

pytestmark = pytest.mark.browser


def _requirements():
    if not CHROMIUM.exists(): pytest.skip(f'{CHROMIUM} not found: install Debian\'s chromium (apt-get install chromium)')
    try: import playwright.sync_api  # noqa: F401
    except ImportError: pytest.skip('playwright is not installed: pip install -e ".[dev]"')
    if not (BIN / 'jupyter-lab').exists(): pytest.skip(f'jupyter-lab not found next to {sys.executable}: pip install -e ".[dev]"')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


def _write_notebook(path: Path):
    cells = [dict(cell_type='code', execution_count=None, id=f'cell{i}', metadata={}, outputs=[], source=src)
             for i, src in enumerate(NOTEBOOK_CELLS)]
    nb = dict(cells=cells, nbformat=4, nbformat_minor=5,
              metadata=dict(kernelspec=dict(name='python3', display_name='Python 3 (ipykernel)', language='python')))
    path.write_text(json.dumps(nb))


def _api(url: str, method: str = 'GET', timeout: float = 5):
    req = urllib.request.Request(url, method=method, data=b'' if method == 'POST' else None)
    with urllib.request.urlopen(req, timeout=timeout) as r: return r.status


class Lab:
    "A JupyterLab server on a free port, with its config, data and runtime directories under `root`."
    def __init__(self, root: Path):
        self.root, self.port, self.token = root, _free_port(), secrets.token_hex(16)
        self.work = root / 'work'; self.work.mkdir()
        home = root / 'home'
        env = dict(os.environ, JUPYTER_CONFIG_DIR=str(home / 'config'), JUPYTER_DATA_DIR=str(home / 'data'),
                   JUPYTER_RUNTIME_DIR=str(home / 'runtime'), IPYTHONDIR=str(home / 'ipython'),
                   OMP_NUM_THREADS='1', MKL_NUM_THREADS='1', PYTHONUNBUFFERED='1')
        self.log = open(root / 'jupyterlab.log', 'w')
        self.proc = subprocess.Popen(
            [str(BIN / 'jupyter-lab'), '--no-browser', f'--port={self.port}', '--ServerApp.ip=127.0.0.1',
             '--ServerApp.port_retries=0', f'--IdentityProvider.token={self.token}', f'--ServerApp.root_dir={self.work}',
             '--LabApp.news_url=None', '--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate']
            + (['--allow-root'] if os.geteuid() == 0 else []),   # CI containers run as root
            cwd=self.work, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    def url(self, path: str) -> str: return f'http://127.0.0.1:{self.port}/{path}?token={self.token}'

    def wait_ready(self, deadline: float):
        while time.time() < deadline:
            if self.proc.poll() is not None: raise RuntimeError(f'JupyterLab exited with {self.proc.returncode}:\n{self.tail()}')
            try:
                if _api(self.url('api/status'), timeout=2) == 200: return
            except OSError: pass
            time.sleep(0.5)
        raise TimeoutError(f'JupyterLab did not answer within the time budget:\n{self.tail()}')

    def tail(self, n: int = 3000) -> str:
        self.log.flush()
        return (self.root / 'jupyterlab.log').read_text(errors='replace')[-n:]

    def stop(self):
        "Shut the server and its kernels down through the API, then make sure the process is gone."
        if self.proc.poll() is None:
            try: _api(self.url('api/shutdown'), 'POST')
            except OSError: pass
            try: self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGTERM)
                try: self.proc.wait(5)
                except subprocess.TimeoutExpired: os.killpg(self.proc.pid, signal.SIGKILL); self.proc.wait(5)
        self.log.close()


def _errors(page) -> str:
    "What the notebook's outputs show on stderr (tracebacks and warnings)."
    return '\n'.join(page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]').all_inner_texts())


def test_explorer_in_jupyterlab(tmp_path):
    _requirements()
    from playwright.sync_api import sync_playwright, TimeoutError as PWTimeout
    t0 = time.time()
    deadline = t0 + BUDGET_S
    left_ms = lambda: max(1000, (deadline - time.time()) * 1000)
    lab = Lab(tmp_path)
    try:
        _write_notebook(lab.work / 'explorer.ipynb')
        lab.wait_ready(t0 + 45)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
            try:
                page = browser.new_page(viewport={'width': 1400, 'height': 1000})
                page.goto(lab.url('lab/tree/explorer.ipynb') + '&reset', timeout=left_ms())
                page.locator('.jp-Notebook .jp-Cell').first.wait_for(timeout=left_ms())
                # run only once the kernel is up: cells run while it is starting are dropped
                # (the status bar says 'Python 3 (ipykernel) | Idle' once it is connected)
                page.wait_for_function(
                    "() => [...document.querySelectorAll('.jp-StatusBar-TextItem')].some(e => /\\| Idle/.test(e.textContent))",
                    timeout=left_ms(), polling=250)
                page.locator('.jp-Notebook').first.click()
                # Run > Run All Cells, from the menu bar
                page.locator('.lm-MenuBar-itemLabel', has_text='Run').first.click()
                page.locator('.lm-Menu-itemLabel', has_text='Run All Cells').first.click()
                frame = page.locator('img.coordtok-frame')
                try:
                    page.wait_for_function(
                        "() => { const i = document.querySelector('img.coordtok-frame'); return i && i.src && i.naturalWidth > 0 }",
                        timeout=left_ms(), polling=250)
                except PWTimeout:
                    page.screenshot(path=str(tmp_path / 'failure.png'))
                    pytest.fail(f'the explorer did not render (screenshot: {tmp_path / "failure.png"}); notebook errors:\n'
                                f'{_errors(page)}\nserver log:\n{lab.tail()}')
                label = page.locator('.coordtok-frame-label')
                src0, label0 = frame.get_attribute('src'), label.inner_text()
                assert label0.startswith('frame 0 / 15'), label0
                assert frame.evaluate('i => i.naturalWidth') >= 3 * 32, 'the frame image is too small to be the panel'
                # move the frame slider with the keyboard, as a user would
                handle = page.locator('.coordtok-frame-slider .noUi-handle')
                handle.focus()
                for _ in range(3): page.keyboard.press('ArrowRight')
                page.wait_for_function(
                    "src => { const i = document.querySelector('img.coordtok-frame'); return i && i.src !== src && i.naturalWidth > 0 }",
                    arg=src0, timeout=left_ms(), polling=250)
                page.wait_for_function(
                    "() => document.querySelector('.coordtok-frame-label').innerText.startsWith('frame 3 / 15')",
                    timeout=left_ms(), polling=250)
                assert page.locator('.coordtok-frame-slider .widget-readout').inner_text().strip() == '3'
                assert frame.get_attribute('src') != src0
                assert 'Traceback' not in _errors(page), _errors(page)   # warnings on stderr are allowed
            finally:
                browser.close()
    finally:
        lab.stop()
    assert time.time() - t0 < 120
