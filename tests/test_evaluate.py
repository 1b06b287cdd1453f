"""`coordtok eval` end to end (in process, as a module and on two ranks), unavailable metrics, the baselines' clip-by-clip
protocol, the boundary discontinuity, reproducibility, and the dynamics knob of the built-in dataset."""
import json, os, socket, subprocess, sys
from dataclasses import asdict
from pathlib import Path
import pytest
import torch
from coordtok.config import preset
from coordtok.tokenizer import CoordTok
from coordtok.runtime import save_checkpoint, CKPT_FORMAT
from coordtok.train import load_tokenizer
from coordtok.data import SyntheticVideos, collate
from coordtok.metrics import dynamics_magnitude
from coordtok.evaluate import (cmd_eval, evaluate, eval_clips, reconstruct_in_clips, boundary_discontinuity, frame_changes,
                               results_table, with_arg_help)

ROWS = ['rfvd', 'psnr', 'lpips', 'ssim', 'rfvd_16']
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _one_thread(monkeypatch, tmp_path):
    n = torch.get_num_threads(); torch.set_num_threads(1)  # a shared 2-core machine: extra threads only spin
    monkeypatch.setenv('COORDTOK_CACHE', str(tmp_path / 'empty-cache'))   # no weights found by chance
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope='module')
def ckpt(tmp_path_factory):
    "A tiny, randomly initialised tokenizer saved the way `coordtok train` saves one."
    torch.manual_seed(0)
    cfg = preset('tiny')
    path = tmp_path_factory.mktemp('ckpt') / 'last.pt'
    return save_checkpoint({'format': CKPT_FORMAT, 'kind': 'tokenizer', 'model': CoordTok(cfg).state_dict(), 'step': 0,
                            'config': {'model': asdict(cfg)}}, path)


RANDOM_NETS = dict(n_clips=2, batch_size=2, seed=0, lpips_random=True, i3d_random=True, device='cpu', progress=False)


@pytest.fixture(scope='module')
def full_run(ckpt, tmp_path_factory):
    "One in-process run with every metric (the test-only random LPIPS and I3D), 2 clips."
    out = tmp_path_factory.mktemp('eval')
    n = torch.get_num_threads(); torch.set_num_threads(1)
    try: return cmd_eval(ckpt, out=out, **RANDOM_NETS), out
    finally: torch.set_num_threads(n)


class TinyI3D(torch.nn.Module):
    "A cheap stand-in for the TorchScript I3D of StyleGAN-V (same call): pooled pixels -> 400 features."
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.proj = torch.nn.Linear(3 * 4 * 4 * 4, 400)
    def forward(self, x, rescale: bool = False, resize: bool = False, return_features: bool = True):
        return self.proj(torch.nn.functional.adaptive_avg_pool3d(x, (4, 4, 4)).flatten(1))


@pytest.fixture(scope='module')
def tiny_i3d_file(tmp_path_factory):
    import warnings
    path = tmp_path_factory.mktemp('i3d') / 'tiny_i3d_torchscript.pt'
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        torch.jit.save(torch.jit.script(TinyI3D()), str(path))
    return path


def _missing(tmp_path):
    return dict(i3d=tmp_path / 'missing-i3d.pt', lpips_backbone=tmp_path / 'missing-vgg16.pth')


def test_eval_writes_json_and_markdown_with_all_five_rows(full_run):
    res, out = full_run
    saved = json.loads((out / 'results.json').read_text())
    assert saved['metrics'] == res['metrics'] and saved['n_clips'] == 2 and saved['clip'] == '16x32x32'
    m = saved['metrics']
    assert list(m)[:5] == ROWS
    for k in ROWS: assert m[k]['value'] is not None and m[k]['reason'] is None, (k, m[k])
    assert 0 < m['psnr']['value'] < 20            # an untrained tokenizer: noise
    assert -1 <= m['ssim']['value'] < 0.5 and 0 < m['lpips']['value'] < 2
    assert m['rfvd']['value'] > 0                  # the calibrated random I3D tells real from reconstructed clips
    assert set(saved['test_only_networks']) == {'i3d', 'lpips'} and 'test only' in m['rfvd']['note']
    md = (out / 'results.md').read_text()
    assert md.strip() == results_table(res)
    for label in ['| rFVD-16 ↓ |', '| PSNR ↑ |', '| LPIPS ↓ |', '| SSIM ↑ |', '| rFVD-16 (sub-clips) ↓ |']: assert label in md
    assert f"| {m['psnr']['value']:.2f} |" in md


def test_missing_weights_are_reported_with_the_reason(ckpt, tmp_path):
    res = cmd_eval(ckpt, n_clips=2, batch_size=2, device='cpu', out=tmp_path / 'eval', progress=False, **_missing(tmp_path))
    m = res['metrics']
    for k in ('rfvd', 'rfvd_16'):
        assert m[k]['value'] is None and 'FileNotFoundError' in m[k]['reason'] and 'missing-i3d.pt' in m[k]['reason']
    assert m['lpips']['value'] is None and 'missing-vgg16.pth' in m['lpips']['reason'] and 'download.pytorch.org' in m['lpips']['reason']
    assert m['psnr']['value'] is not None and m['ssim']['value'] is not None
    md = (tmp_path / 'eval' / 'results.md').read_text()
    rows = [l for l in md.splitlines() if l.startswith('| ') and 'metric' not in l]
    assert len(rows) >= 5
    assert sum('unavailable: FileNotFoundError' in l for l in rows) == 3
    assert json.loads((tmp_path / 'eval' / 'results.json').read_text())['metrics']['lpips']['value'] is None


def test_results_are_reproducible_with_a_seed(ckpt, tmp_path):
    kw = dict(n_clips=2, batch_size=1, device='cpu', progress=False, **_missing(tmp_path))
    a = cmd_eval(ckpt, seed=3, out=tmp_path / 'a', **kw)['metrics']
    b = cmd_eval(ckpt, seed=3, out=tmp_path / 'b', **kw)['metrics']
    c = cmd_eval(ckpt, seed=4, out=tmp_path / 'c', **kw)['metrics']
    assert a == b
    assert a['psnr']['value'] != c['psnr']['value']
    # the clips themselves: a function of the seed only
    x, y = eval_clips(None, 2, 16, 32, seed=3), eval_clips(None, 2, 16, 32, seed=3)
    assert torch.equal(x[1]['video'], y[1]['video'])
    assert not torch.equal(x[1]['video'], eval_clips(None, 2, 16, 32, seed=4)[1]['video'])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


def test_two_ranks_as_a_module_equal_one_process(ckpt, tiny_i3d_file, tmp_path):
    "torchrun -m coordtok.evaluate on 2 gloo ranks (3 clips: 2 + 1) gives the one-process numbers, rFVD and D_16 included."
    args = dict(n_clips=3, frames=32, batch_size=2, i3d=tiny_i3d_file, lpips_backbone=tmp_path / 'missing-vgg16.pth')
    one = cmd_eval(ckpt, device='cpu', progress=False, out=tmp_path / 'one', **args)['metrics']
    out = tmp_path / 'ddp'
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1')
    flags = [x for k, v in args.items() for x in ('--' + k.replace('_', '-'), str(v))]
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2', '--master_addr', '127.0.0.1',
           '--master_port', str(_free_port()), '-m', 'coordtok.evaluate', '--checkpoint', str(ckpt), *flags,
           '--device', 'cpu', '--no-progress', '--out', str(out)]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.count('| PSNR ↑ |') == 1                                # rank 0 prints the table, once
    got = json.loads((out / 'results.json').read_text())
    assert got['world_size'] == 2 and got['n_clips'] == 3
    for k in ['rfvd', 'psnr', 'ssim', 'rfvd_16', 'boundary']:
        assert one[k]['value'] is not None, k
        assert got['metrics'][k]['value'] == pytest.approx(one[k]['value'], rel=1e-4), k
    assert got['metrics']['lpips']['value'] is None and 'missing-vgg16.pth' in got['metrics']['lpips']['reason']


def test_module_help_explains_the_flags():
    doc = with_arg_help(cmd_eval).__doc__
    for p in ('checkpoint', 'root', 'split', 'n_clips', 'batch_size', 'seed', 'chunk', 'i3d', 'lpips_backbone', 'i3d_random', 'out'):
        assert f'    {p}: ' in doc, p


def test_clip_helper_equals_per_clip_reconstruction(ckpt):
    model = load_tokenizer(ckpt)
    ds = SyntheticVideos(2, frames=40, size=32, seed=5)
    video = collate([ds[i] for i in range(2)])['video']                        # (2, 40, 32, 32, 3): clips 16 + 16 + 8
    with torch.no_grad():
        got = reconstruct_in_clips(model.reconstruct, video, 16)
        last = torch.cat([video[:, 32:], video[:, -1:].expand(-1, 8, -1, -1, -1)], 1)   # the partial clip, completed
        want = torch.cat([model.reconstruct(video[:, 0:16]), model.reconstruct(video[:, 16:32]), model.reconstruct(last)[:, :8]], 1)
    assert got.shape == video.shape
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-4)
    calls = []
    reconstruct_in_clips(lambda c: calls.append(c.shape[0]) or c, video, 16, batch=4)
    assert calls == [4, 2]


def test_boundary_discontinuity_identity_vs_per_clip_shift():
    ds = SyntheticVideos(2, frames=64, size=32, seed=2)
    video = collate([ds[i] for i in range(2)])['video']
    identity = reconstruct_in_clips(lambda c: c, video, 16)
    # a tokenizer whose k-th clip comes back 0.1 brighter or darker, alternately
    shifted = reconstruct_in_clips(lambda c: c + 0.1 * (-1.) ** torch.arange(len(c)).view(-1, 1, 1, 1, 1), video, 16)
    d_id, d_shift = boundary_discontinuity(identity, 16, video), boundary_discontinuity(shifted, 16, video)
    assert torch.equal(d_id, torch.zeros(2))
    assert boundary_discontinuity(identity, 16).abs().max() < 1.0        # without the original: about 0 too
    assert (d_shift > 10).all(), d_shift                                   # 0.2 in [-1, 1] is 25.5 levels, less clamping
    assert (boundary_discontinuity(shifted, 16) > 10).all()
    # the shift shows only at the boundaries
    ch = frame_changes(shifted) - frame_changes(video)
    assert ch[:, [15, 31, 47]].min() > 10 and ch[:, [t for t in range(63) if t not in (15, 31, 47)]].abs().max() < 0.5   # clamping
    with pytest.raises(ValueError, match='no boundaries'): boundary_discontinuity(video[:, :16], 16)


def test_eval_in_pieces_reports_the_boundary_jump(ckpt, tmp_path):
    res = cmd_eval(ckpt, n_clips=1, frames=32, batch_size=1, device='cpu', out=tmp_path, progress=False, **_missing(tmp_path))
    m = res['metrics']
    assert res['clip'] == '32x32x32' and 'independent 16-frame pieces' in res['decoding']
    assert m['boundary']['value'] is not None and m['boundary']['value'] > 0
    assert m['rfvd']['value'] is None and m['psnr']['value'] is not None


def test_dynamics_magnitude_increases_with_the_dynamics_knob():
    mags = []
    for d in (0, 0.5, 1, 2, 4):
        ds = SyntheticVideos(4, frames=16, size=32, dynamics=d, seed=0)
        mags.append(dynamics_magnitude(collate([ds[i] for i in range(4)])['video']).mean().item())
    assert mags[0] == float('-inf')                                       # dynamics 0: still videos
    assert all(a < b for a, b in zip(mags, mags[1:])), mags
