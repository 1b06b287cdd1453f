"`coordtok bench`: the JSON's structure in quick mode, the command line, and that every reference computes what ours computes."
import copy, json, math, os, subprocess, sys
from pathlib import Path

import pytest
import torch
from torch.nn.attention import sdpa_kernel, SDPBackend

from coordtok.bench import (BENCHMARKS, cmd_bench, count_flops, decode_video_loop, format_table, reference_kernels,
                            sample_coords_loop, sample_sde_reference, step_memory, train_step, _Counted, _load_sit)
from coordtok.config import preset
from coordtok.patches import sample_coords
from coordtok.tokenizer import CoordTok
from coordtok.train import l2_per_video

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)   # tiny tensors; other tests run beside these
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope='module')
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp('bench') / 'bench.json'
    n = torch.get_num_threads(); torch.set_num_threads(1)
    try: res = cmd_bench(out=out, quick=True, verbose=False)
    finally: torch.set_num_threads(n)
    return res, out


def _check_benchmark(name, r):
    assert 'error' not in r, (name, r.get('error'))
    assert r['timings'], name
    for case, t in r['timings'].items():
        assert {'median', 'min', 'max', 'runs', 'unit'} <= set(t), (name, case)
        assert t['min'] <= t['median'] <= t['max'], (name, case)
    assert r['ratios'] and all(math.isfinite(v) and v > 0 for v in r['ratios'].values()), name
    assert isinstance(r['ratio'], float) and math.isfinite(r['ratio']), name
    assert r['headline'] in r['ratios'] and r['references'], name
    for ref in r['references']: assert ref in r['timings'], (name, ref)


def test_quick_json_has_every_benchmark(quick):
    res, out = quick
    saved = json.loads(out.read_text())
    assert set(BENCHMARKS) <= set(saved)
    for name in BENCHMARKS: _check_benchmark(name, saved[name])
    m = saved['machine']
    for k in ('cpu', 'cores', 'torch', 'gpu', 'torch_threads'): assert k in m
    assert m['torch'] == torch.__version__
    assert saved['setup']['quick'] and saved['setup']['preset'] == 'tiny'
    # benchmark-specific figures
    assert saved['train-step']['flop_per_step'] > 0 and 0 < saved['train-step']['fraction_of_bf16_peak']['fp32']
    assert saved['sample-coords']['vs_authors'] > 0 and 'goal_met' in saved['sample-coords']
    assert saved['sit-sample']['model_calls'] == {'ours (1 call/step)': 10, 'reference (2 calls/step)': 20}
    assert set(saved['matmul-peak']['peak']) == {'fp32', 'bf16'}
    assert [p['T'] for p in saved['memory-vs-length']['points']] == [4, 16]
    assert any(k.startswith('one-pass') for k in saved['decode']['timings'])
    for case in ('chunked fp32', 'chunked bf16'): assert saved['decode']['timings'][case]['peak_memory'] is not None


def test_table_prints_every_benchmark(quick):
    table = format_table(quick[0])
    for name in BENCHMARKS: assert name in table
    assert 'ref/ours' in table and 'machine:' in table


def test_command_line_subset(tmp_path):
    out = tmp_path / 'sub.json'
    p = subprocess.run([sys.executable, '-m', 'coordtok.bench', '--quick', '--names', 'matmul-peak', 'sample-coords',
                        '--out', str(out), '--no-verbose'], capture_output=True, text=True, timeout=300, cwd=tmp_path,
                       env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert p.returncode == 0, p.stderr[-2000:]
    saved = json.loads(out.read_text())
    assert set(BENCHMARKS) & set(saved) == {'matmul-peak', 'sample-coords'}
    for name in ('matmul-peak', 'sample-coords'): _check_benchmark(name, saved[name])
    assert 'ref/ours' in p.stdout and 'sample-coords' in p.stdout
    bad = subprocess.run([sys.executable, '-m', 'coordtok.bench', '--names', 'nope'], capture_output=True, text=True, timeout=300)
    assert bad.returncode != 0 and 'nope' in bad.stderr


def test_default_out_and_validation(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cmd_bench(['matmul-peak'], quick=True, verbose=False)
    assert 'matmul-peak' in json.loads((tmp_path / 'bench.json').read_text())
    with pytest.raises(ValueError, match='unknown benchmark'): cmd_bench(['nope'], quick=True)
    with pytest.raises(ValueError, match='unknown preset'): cmd_bench(['matmul-peak'], preset='huge')


# --- the references compute what ours computes ------------------------------------------------------------------
@pytest.fixture(scope='module')
def tiny():
    torch.manual_seed(0)
    cfg = preset('tiny')
    return cfg, CoordTok(cfg).eval(), torch.rand(2, *cfg.video_shape, 3) * 2 - 1


def test_sample_coords_loop_equals_sample_coords(tiny):
    cfg, _, video = tiny
    for n_frames, gens in ((None, lambda: torch.Generator().manual_seed(5)),
                           (torch.tensor([16, 7]), lambda: [torch.Generator().manual_seed(1), torch.Generator().manual_seed(2)])):
        c1, p1 = sample_coords(video, 200, cfg.dec_patch, n_frames, gens())
        c2, p2 = sample_coords_loop(video, 200, cfg.dec_patch, n_frames, gens())
        assert torch.equal(c1, c2) and torch.equal(p1, p2)


def test_decode_loop_equals_decode_video(tiny):
    cfg, model, video = tiny
    with torch.no_grad():
        planes = model.encode(video)
        for chunk in (256, 1024, 300):
            torch.testing.assert_close(decode_video_loop(model, planes, chunk), model.decode_video(planes, chunk), atol=1e-5, rtol=1e-5)


def test_reference_encoder_equals_ours(tiny):
    cfg, model, video = tiny
    with torch.no_grad():
        ours = model.encode(video, torch.tensor([16, 5]))
        with reference_kernels(model): ref = model.encode(video, torch.tensor([16, 5]))
    for a, b in zip(ours, ref): torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)
    assert 'forward' not in vars(model.encoder.video.patch_embed)   # restored


def test_reference_train_step_equals_ours(tiny):
    cfg, model, video = tiny
    a, b = copy.deepcopy(model).train(), copy.deepcopy(model).train()
    coords, targets = sample_coords(video, 64, cfg.dec_patch, generator=torch.Generator().manual_seed(0))
    la = train_step(a, torch.optim.AdamW(a.parameters(), lr=1e-3, fused=True), video, coords, targets)
    lb = train_step(b, torch.optim.AdamW(b.parameters(), lr=1e-3, foreach=False), video, coords, targets, reference=True)
    torch.testing.assert_close(la, lb, atol=1e-6, rtol=1e-5)
    for p, q in zip(a.parameters(), b.parameters()): torch.testing.assert_close(p.grad, q.grad, atol=1e-5, rtol=1e-4)
    with torch.no_grad():   # the fused and the for-loop AdamW from the same weights, gradients and state
        for p, q in zip(a.parameters(), b.parameters()): q.copy_(p); q.grad.copy_(p.grad)
    torch.optim.AdamW(a.parameters(), lr=1e-3, fused=True).step()
    torch.optim.AdamW(b.parameters(), lr=1e-3, foreach=False).step()
    for p, q in zip(a.parameters(), b.parameters()): torch.testing.assert_close(p, q, atol=1e-6, rtol=1e-6)


def test_attention_flops_match_the_math_kernel(tiny):
    cfg, model, video = tiny
    m = copy.deepcopy(model)
    coords, targets = sample_coords(video, 64, cfg.dec_patch, generator=torch.Generator().manual_seed(0))
    def run(ref):
        def f():
            with sdpa_kernel(SDPBackend.MATH) if ref else torch.enable_grad():
                l2_per_video(m(video, coords), targets).mean().backward()
        return f
    flash, _, _ = count_flops(run(False))
    math_, per_op, _ = count_flops(run(True))
    assert flash == math_ > 0


def test_reference_sampler_equals_ours():
    sit_mod, sampler = _load_sit()
    torch.manual_seed(0)
    sit = sit_mod.SiT(sit_mod.sit_preset('tiny')).eval()
    with torch.no_grad():
        for p in sit.parameters(): p.add_(torch.randn_like(p) * 0.05)
    init = tuple(torch.randn(1, 4, 8, 8) for _ in range(3))
    noise = tuple(torch.randn(29, *p.shape) for p in init)
    a_m, b_m = _Counted(sit), _Counted(sit)
    a = sampler(a_m, init, num_steps=30, last_step_size=0.04, y=None, noise=noise)
    b = sample_sde_reference(b_m, init, num_steps=30, last_step_size=0.04, y=None, noise=noise)
    for p, q in zip(a, b): torch.testing.assert_close(p, q, atol=1e-4, rtol=1e-4)
    assert (a_m.n, b_m.n) == (30, 60)


def test_step_memory_fresh_process():
    cfg = preset('tiny')
    full = step_memory(cfg, 16, 'full', n_coords=64, chunk=64, fresh_process=True)
    assert full['decoded_per_video'] == 1024 and 'fresh process' in full['method'] and full['peak_bytes'] > full['delta_bytes'] > 0
    c = step_memory(cfg, 8, 'coordtok', n_coords=64, chunk=64, fresh_process=False)
    assert c['decoded_per_video'] == 64 and c['T'] == 8
    with pytest.raises(ValueError, match='mode'): step_memory(cfg, 8, 'nope', fresh_process=False)
