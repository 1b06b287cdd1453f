import json, os, signal, subprocess, sys, time
from dataclasses import replace
from pathlib import Path
import pytest
import torch
from coordtok.config import preset
from coordtok.train import (TrainConfig, DataConfig, train, load_checkpoint, save_checkpoint, NonFiniteLoss, global_batch,
                            shard, read_metrics, CKPT_FORMAT, lr_at)

JOBS = Path(__file__).parent / 'jobs'
ENV = dict(os.environ, OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1')


def _weights(path):
    return torch.load(path, weights_only=True)


def test_global_batch_is_split_without_loss_or_overlap():
    b = global_batch(3, 8, 20, seed=0)
    parts = [shard(b, m, 2, r, 2) for m in range(2) for r in range(2)]
    assert sorted(x for p in parts for x in p) == sorted(b)
    with pytest.raises(ValueError, match='cannot be split over 3 ranks'):
        shard(b, 0, 2, 0, 3)


def test_ddp_two_gloo_ranks_equal_single_process(tmp_path):
    "2 CPU ranks (gloo) with the global batch 4 end with identical weights, equal to one process with batch 4."
    ddp, single = tmp_path / 'ddp', tmp_path / 'single'
    r = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2', '--master_port', '29533',
                        str(JOBS / 'train_job.py'), str(ddp), '4'], env=ENV, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    r = subprocess.run([sys.executable, str(JOBS / 'train_job.py'), str(single), '4'], env=ENV, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    w0, w1, ws = _weights(ddp / 'weights-rank0.pt'), _weights(ddp / 'weights-rank1.pt'), _weights(single / 'weights-rank0.pt')
    torch.manual_seed(0)                                                      # train() seeds the init with TrainConfig.seed
    from coordtok.tokenizer import CoordTok
    w_init = CoordTok(preset('tiny')).state_dict()
    flat = lambda w: torch.cat([w[k].flatten().double() for k in sorted(w)])
    for k in ws: assert torch.equal(w0[k], w1[k]), k                          # ranks agree exactly
    moved, diff = (flat(ws) - flat(w_init)).norm(), (flat(w0) - flat(ws)).norm()
    assert moved > 1e-2                                                       # training changed the weights...
    assert diff < 1e-3 * moved, (diff, moved)                                 # ...the same way in both runs, up to rounding
    torch.testing.assert_close(w0, ws, atol=5e-4, rtol=0)                     # (Adam turns 1e-9 gradient noise into <= lr-sized steps)
    assert torch.load(ddp / 'last.pt', weights_only=True)['step'] == 4


# one thread: bit-identical by construction; the default threads: bit-identical with `deterministic` (without it, the
# accumulating index_put_ of the lookups' backward adds floats from several threads in a random order)
DEFAULT_THREADS = {k: v for k, v in ENV.items() if k not in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS')} | {'COORDTOK_JOB_THREADS': 'default'}

@pytest.mark.parametrize('env,extra', [(ENV, '{}'), (DEFAULT_THREADS, '{"deterministic": true, "n_coords": 256}')], ids=['one-thread', 'default-threads-deterministic'])
def test_sigkill_and_resume_reaches_the_same_weights(tmp_path, env, extra):
    full, cut = tmp_path / 'full', tmp_path / 'cut'
    r = subprocess.run([sys.executable, str(JOBS / 'train_job.py'), str(full), '10', extra], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    p = subprocess.Popen([sys.executable, str(JOBS / 'train_job.py'), str(cut), '10', extra], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 240
    while time.time() < deadline:                                      # kill it once it has checkpointed a few steps
        try:
            if load_checkpoint(cut / 'last.pt')['step'] >= 4: break
        except Exception: pass
        time.sleep(0.05)
    p.send_signal(signal.SIGKILL); p.wait()
    step_at_kill = load_checkpoint(cut / 'last.pt')['step']
    assert 4 <= step_at_kill < 10
    r = subprocess.run([sys.executable, str(JOBS / 'train_job.py'), str(cut), '10', extra], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    a, b = load_checkpoint(full / 'last.pt'), load_checkpoint(cut / 'last.pt')
    assert a['step'] == b['step'] == 10
    for k in a['model']: assert torch.equal(a['model'][k], b['model'][k]), k
    for k in a['optimizer']['state']:
        for name, t in a['optimizer']['state'][k].items(): assert torch.equal(t, b['optimizer']['state'][k][name])
    losses = lambda d: [r['loss'] for r in read_metrics(d) if r['step'] == 10]
    assert losses(full)[-1] == losses(cut)[-1]


def test_kill_during_save_leaves_the_previous_checkpoint(tmp_path):
    path = tmp_path / 'last.pt'
    r = subprocess.run([sys.executable, str(JOBS / 'kill_while_saving.py'), str(path)], env=ENV, capture_output=True, timeout=120)
    assert r.returncode == -signal.SIGKILL
    ck = load_checkpoint(path)
    assert ck['step'] == 1 and torch.equal(ck['w'], torch.ones(1000))
    assert list(tmp_path.glob('.last.pt.tmp-*'))           # the half-written file is a temporary, never last.pt


def test_a_tokenizer_run_killed_while_checkpointing_resumes_from_the_previous_checkpoint(tmp_path, killed_in_a_checkpoint):
    killed_in_a_checkpoint('tokenizer', tmp_path)


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    import coordtok.train as T
    from coordtok.data import SyntheticVideos
    cfg = preset('tiny')
    tcfg = TrainConfig(steps=3, batch_size=2, n_coords=32, ckpt_every=1, eval_every=0, progress=False, out_dir=str(tmp_path))
    good = SyntheticVideos(4, frames=cfg.frames, size=cfg.height)
    train(cfg, tcfg, DataConfig(n_eval=0), datasets=(good, good))
    before = load_checkpoint(tmp_path / 'last.pt')

    # a NaN input never reaches the loss (`encode` refuses it), so the loss itself is poisoned: what an fp16 overflow does
    l2 = T.l2_per_video
    monkeypatch.setattr(T, 'l2_per_video', lambda pred, target: l2(pred, target) * float('nan'))
    with pytest.raises(NonFiniteLoss, match='last good checkpoint'):
        train(cfg, replace(tcfg, steps=6), DataConfig(n_eval=0), datasets=(good, good))
    bad = SyntheticVideos(4, frames=cfg.frames, size=cfg.height)
    with pytest.raises(ValueError, match='NaN'):   # and a NaN video stops the step before anything is computed
        class Poisoned(torch.utils.data.Dataset):
            def __len__(self): return 4
            def __getitem__(self, key):
                it = dict(bad[key]); it['video'] = it['video'] * float('nan'); return it
        monkeypatch.setattr(T, 'l2_per_video', l2)
        train(cfg, replace(tcfg, steps=6), DataConfig(n_eval=0), datasets=(Poisoned(), good))
    after = load_checkpoint(tmp_path / 'last.pt')
    assert after['step'] == before['step'] == 3
    for k in before['model']: assert torch.equal(before['model'][k], after['model'][k])


def test_checkpoint_loads_with_weights_only_and_holds_everything(tmp_path):
    cfg = preset('tiny')
    train(cfg, TrainConfig(steps=2, batch_size=2, n_coords=32, eval_every=0, progress=False, out_dir=str(tmp_path)), DataConfig(n_videos=4, n_eval=1))
    ck = torch.load(tmp_path / 'last.pt', weights_only=True)
    assert {'model', 'optimizer', 'scaler', 'step', 'rng', 'config'} <= set(ck)
    assert ck['config']['model']['frames'] == cfg.frames and ck['config']['train']['steps'] == 2
    recs = read_metrics(tmp_path)
    assert any('held_out_psnr' in r for r in recs) and all(r['step'] <= 2 for r in recs)


def test_resume_refuses_another_model(tmp_path):
    train(preset('tiny'), TrainConfig(steps=1, batch_size=2, n_coords=32, eval_every=0, progress=False, out_dir=str(tmp_path)), DataConfig(n_videos=4, n_eval=0))
    with pytest.raises(ValueError, match='another model config'):
        train(preset('tiny', dec_layers=1), TrainConfig(steps=2, batch_size=2, n_coords=32, eval_every=0, progress=False, out_dir=str(tmp_path)), DataConfig(n_videos=4, n_eval=0))


def test_bad_train_config():
    with pytest.raises(ValueError, match='not divisible by grad_accum'):
        TrainConfig(batch_size=6, grad_accum=4)


def test_motion_coordinate_sampling_draws_with_the_videos_motion_weights(tmp_path, monkeypatch):
    import coordtok.train as T
    from coordtok.patches import motion_weights
    seen, real = [], T.sample_coords
    def spy(video, n, patch, n_frames=None, generator=None, weights=None):
        seen.append((video.clone(), n_frames, weights))
        return real(video, n, patch, n_frames, generator, weights=weights)
    monkeypatch.setattr(T, 'sample_coords', spy)
    cfg = preset('tiny')
    for mode in ('uniform', 'motion'):
        train(cfg, TrainConfig(steps=2, batch_size=2, n_coords=32, eval_every=0, progress=False, coord_sampling=mode, motion_floor=0.25,
                               out_dir=str(tmp_path / mode)), DataConfig(n_videos=4, n_eval=0))
    uniform, motion = seen[:2], seen[2:]
    assert len(motion) == 2 and all(w is None for *_, w in uniform)
    for video, n_frames, w in motion: torch.testing.assert_close(w, motion_weights(video, cfg.dec_patch, n_frames, 0.25))
    with pytest.raises(ValueError, match='motion_floor must be positive'): TrainConfig(motion_floor=0)


def test_lr_schedule():
    c = TrainConfig(steps=100, lr=1.0, lr_schedule='cosine', warmup_steps=10, min_lr_ratio=0.1)
    assert lr_at(0, c) == pytest.approx(0.1) and lr_at(9, c) == pytest.approx(1.0)
    assert lr_at(10, c) == pytest.approx(1.0) and lr_at(100, c) == pytest.approx(0.1)
    assert lr_at(55, c) == pytest.approx(0.55)


def test_load_tokenizer_reads_a_saved_model_and_the_shipped_default(tmp_path, monkeypatch):
    import coordtok, coordtok.train as T
    from coordtok.tokenizer import CoordTok
    m = CoordTok(preset('tiny'))
    d = m.save_pretrained(tmp_path / 'small')
    assert sorted(p.name for p in d.iterdir()) == ['config.json', 'model.safetensors']
    got = coordtok.load_tokenizer(d)                                       # the top-level name, a saved-model folder
    for k, v in m.state_dict().items(): assert torch.equal(v, got.state_dict()[k])
    monkeypatch.setattr(T.importlib.resources, 'files', lambda pkg: tmp_path / 'pkg')
    with pytest.raises(FileNotFoundError, match='coordtok demo'): coordtok.load_tokenizer()   # no model in this install
    (tmp_path / 'pkg' / 'models').mkdir(parents=True); (tmp_path / 'small').rename(tmp_path / 'pkg' / 'models' / 'small')
    assert coordtok.load_tokenizer().cfg == preset('tiny')                # the shipped folder, when it is there
