"Latents, normalization stats, SiT training (EMA, resume, DDP-pooled stats) and sampling (coordtok.generate)."
import json, os, shutil, signal, socket, subprocess, sys, textwrap, time
from dataclasses import asdict, replace
from pathlib import Path
import pytest
import torch
from coordtok.config import preset
from coordtok.sit import SiT, sit_preset
from coordtok.tokenizer import CoordTok
from coordtok.runtime import save_checkpoint, load_checkpoint, CKPT_FORMAT
from coordtok.train import DataConfig, load_tokenizer, read_metrics, NonFiniteLoss
from coordtok.generate import (LatentStats, EncodeConfig, SiTTrainConfig, encode_latents, load_latents, stats_indices, shard_path,
                               normalize, denormalize, train_sit, load_sit, generate, frozen, cmd_encode, cmd_train_sit, cmd_sample,
                               read_shard, save_shard, shard_metadata, stamp_stats, read_latent_stats, PLANES, SHARD_TENSORS,
                               LATENTS_FORMAT)

torch.set_num_threads(1)
ENV = dict(os.environ, OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1')
DATA = DataConfig(n_videos=8, n_eval=0)
SIT = sit_preset('tiny')


def _enc(out, **kw):
    return EncodeConfig(out_dir=str(out), shard_size=3, batch_size=2, stats_clips=6, progress=False, device='cpu', **kw)


def _sit_train(out, latents, **kw):
    kw = dict(dict(batch_size=4, lr=1e-3, ema_decay=0.5, log_every=1, ckpt_every=1, progress=False, device='cpu'), **kw)
    return SiTTrainConfig(latents=str(latents), out_dir=str(out), **kw)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


@pytest.fixture(scope='module')
def work(tmp_path_factory):
    "A random tiny tokenizer, its latents of 8 synthetic clips (3 shards) and a 3-step SiT run."
    d = tmp_path_factory.mktemp('generate')
    torch.manual_seed(0)
    cfg = preset('tiny')
    save_checkpoint({'format': CKPT_FORMAT, 'kind': 'tokenizer', 'model': CoordTok(cfg).state_dict(),
                     'config': {'model': asdict(cfg)}}, d / 'tok.pt')
    enc = cmd_encode(d / 'tok.pt', _enc(d / 'latents'), DATA)
    sit = cmd_train_sit(SIT, _sit_train(d / 'sit', d / 'latents', steps=3), DATA)
    return dict(dir=d, tok=d / 'tok.pt', latents=d / 'latents', enc=enc, sit=d / 'sit' / 'last.pt', sit_res=sit)


def test_stats_pooled_over_two_gloo_ranks_equal_single_process(work, tmp_path):
    job = tmp_path / 'encode_job.py'
    job.write_text(textwrap.dedent(f"""
        import sys, torch
        torch.set_num_threads(1)
        from coordtok.generate import encode_latents, EncodeConfig
        from coordtok.train import DataConfig
        encode_latents(sys.argv[1], EncodeConfig(out_dir=sys.argv[2], shard_size=3, batch_size=2, stats_clips=6, progress=False,
                                                 device='cpu'), DataConfig(n_videos=8, n_eval=0))
    """))
    r = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2', '--master_port', str(_free_port()),
                        str(job), str(work['tok']), str(tmp_path / 'ddp')], env=ENV, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-3000:]
    ddp, single = load_latents(tmp_path / 'ddp'), load_latents(work['latents'])
    assert ddp['stats'].n_clips == single['stats'].n_clips == 6
    torch.testing.assert_close(ddp['stats'].mean, single['stats'].mean, atol=1e-6, rtol=0)
    torch.testing.assert_close(ddp['stats'].std, single['stats'].std, atol=1e-6, rtol=0)
    for a, b in zip(ddp['planes'], single['planes']): torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    # and both are the plain statistics of the 6 chosen clips
    idx = stats_indices(8, 6, seed=0)
    chosen = [p[idx].double() for p in single['planes']]
    torch.testing.assert_close(single['stats'].mean, torch.stack([p.mean((0, 2, 3)) for p in chosen]), atol=1e-9, rtol=0)
    torch.testing.assert_close(single['stats'].std, torch.stack([p.std((0, 2, 3), unbiased=False) for p in chosen]), atol=1e-9, rtol=0)
    assert (single['stats'].std > 0.05).all() and single['stats'].mean.abs().max() > 0.05   # not trivially 0/1


def test_sit_training_on_two_gloo_ranks_equals_one_process(work, tmp_path):
    "The SiT trainer through the same `fit` loop: 2 gloo ranks with the global batch 4 end where one process with batch 4 does."
    job = tmp_path / 'sit_ddp_job.py'
    job.write_text(textwrap.dedent(f"""
        import sys, torch
        torch.set_num_threads(1)
        from coordtok.generate import train_sit, SiTTrainConfig
        from coordtok.sit import sit_preset
        train_sit(sit_preset('tiny'), SiTTrainConfig(latents=sys.argv[1], batch_size=4, lr=1e-3, ema_decay=0.5, log_every=1,
                  ckpt_every=2, progress=False, device='cpu', out_dir=sys.argv[2], steps=4))
    """))
    ddp = tmp_path / 'ddp'
    r = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2', '--master_port', str(_free_port()),
                        str(job), str(work['latents']), str(ddp)], env=ENV, capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr[-3000:]
    train_sit(SIT, _sit_train(tmp_path / 'single', work['latents'], steps=4, ckpt_every=2))
    a, b = load_checkpoint(ddp / 'last.pt'), load_checkpoint(tmp_path / 'single' / 'last.pt')
    assert a['step'] == b['step'] == 4
    torch.manual_seed(0); init = SiT(SIT).state_dict()                     # train_sit seeds the init with the run's seed (0)
    for key in ('model', 'ema'):
        moved = sum((b[key][n].double() - init[n].double()).norm() for n in b[key] if n in init)
        assert moved > 1e-3                                                   # training moved the weights
        torch.testing.assert_close(a[key], b[key], atol=5e-4, rtol=0)        # the same way on 2 ranks, up to rounding


def test_encode_resumes_and_refuses_other_settings(work, tmp_path):
    d = tmp_path / 'latents'
    shutil.copytree(work['latents'], d)
    before = read_shard(shard_path(d, 2))
    shard_path(d, 2).unlink()
    with pytest.raises(FileNotFoundError, match='incomplete'): load_latents(d)
    res = encode_latents(work['tok'], _enc(d), DATA)
    assert (res['written'], res['skipped'], res['n_shards']) == (1, 2, 3) and res['stamped'] >= 1
    after = read_shard(shard_path(d, 2))
    assert torch.equal(after['index'], torch.tensor([6, 7])) and torch.equal(after['index'], before['index'])
    torch.testing.assert_close(after['xt'], before['xt'], atol=1e-6, rtol=0)
    assert after['stats'].to_json() == res['stats'].to_json() == load_latents(d)['stats'].to_json()
    # killed after the shards were written but before the stats were: a shard without stats is unfinished work
    save_shard(shard_path(d, 0), read_shard(shard_path(d, 0)), 0)
    assert shard_metadata(shard_path(d, 0))['stats'] is None
    with pytest.raises(FileNotFoundError, match='shard-00000.safetensors carry no stats'): load_latents(d)
    res = encode_latents(work['tok'], _enc(d), DATA)
    assert (res['written'], res['skipped'], res['stamped']) == (0, 3, 1)
    assert load_latents(d)['stats'].allclose(res['stats'], atol=0)
    with pytest.raises(ValueError, match='different shard_size'): encode_latents(work['tok'], replace(_enc(d), shard_size=4), DATA)


def test_ema_follows_the_closed_form_and_clean_resume_is_exact(work, tmp_path):
    d, cfg = 0.5, _sit_train(tmp_path / 'cut', work['latents'], steps=1)
    torch.manual_seed(cfg.seed)
    thetas = [{k: v.clone() for k, v in SiT(SIT).named_parameters()}]
    for k in (1, 2, 3):                                  # stop after each step and resume
        res = train_sit(SIT, replace(cfg, steps=k))
        thetas.append({n: p.detach().clone() for n, p in res['model'].named_parameters()})
    ck = load_checkpoint(tmp_path / 'cut' / 'last.pt')
    assert ck['step'] == 3
    for n in thetas[0]:
        closed = d ** 3 * thetas[0][n] + (1 - d) * sum(d ** (3 - j) * thetas[j][n] for j in (1, 2, 3))
        torch.testing.assert_close(ck['ema'][n], closed, atol=1e-6, rtol=1e-6)
        assert ck['ema'][n].dtype == torch.float32
    moved = [n for n in thetas[0] if not torch.equal(thetas[3][n], thetas[0][n])]
    assert moved and any(not torch.equal(ck['ema'][n], ck['model'][n]) for n in moved)
    full = load_checkpoint(work['sit'])                  # the same 3 steps without interruption
    for key in ('model', 'ema'):
        for n, v in full[key].items(): assert torch.equal(v, ck[key][n]), (key, n)
    for i, st in full['optimizer']['state'].items():
        for name, t in st.items(): assert torch.equal(t, ck['optimizer']['state'][i][name])
    # sampling uses the EMA weights
    sit, _ = load_sit(tmp_path / 'cut' / 'last.pt')
    for n, p in sit.state_dict().items(): assert torch.equal(p, ck['ema'][n]), n
    raw, _ = load_sit(tmp_path / 'cut' / 'last.pt', weights='model')
    assert any(not torch.equal(raw.state_dict()[n], sit.state_dict()[n]) for n in moved)


# one thread, or the default threads with `deterministic` (09_train): the same bit-exact resumption as the tokenizer's
SIT_THREADS = {'one-thread': (ENV, False), 'default-threads-deterministic': ({k: v for k, v in ENV.items() if k != 'OMP_NUM_THREADS'}
                                                                           | {'COORDTOK_JOB_THREADS': 'default'}, True)}

@pytest.mark.parametrize('threads', list(SIT_THREADS))
def test_sigkill_and_resume_reaches_the_same_weights(work, tmp_path, threads):
    env, deterministic = SIT_THREADS[threads]
    job = tmp_path / 'sit_job.py'
    job.write_text(textwrap.dedent(f"""
        import os, sys, torch
        if os.environ.get('COORDTOK_JOB_THREADS') != 'default': torch.set_num_threads(1)
        from coordtok.generate import train_sit, SiTTrainConfig
        from coordtok.sit import sit_preset
        train_sit(sit_preset('tiny'), SiTTrainConfig(latents=sys.argv[1], batch_size=4, lr=1e-3, ema_decay=0.5, log_every=1,
                  ckpt_every=1, progress=False, device='cpu', out_dir=sys.argv[2], steps=int(sys.argv[3]), deterministic={deterministic}))
    """))
    run = lambda out, steps: [sys.executable, str(job), str(work['latents']), str(out), str(steps)]
    cut = tmp_path / 'cut'
    p = subprocess.Popen(run(cut, 10_000), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 90
    try:
        while time.time() < deadline and p.poll() is None:
            try:
                if load_checkpoint(cut / 'last.pt')['step'] >= 3: break
            except Exception: pass
            time.sleep(0.01)
    finally:
        p.send_signal(signal.SIGKILL); p.wait()
    k = load_checkpoint(cut / 'last.pt')['step']
    assert 3 <= k < 10_000, p.stderr.read()[-2000:]
    for out in (cut, tmp_path / 'full'):                                   # resume the killed run; run another straight through
        r = subprocess.run(run(out, k + 2), env=env, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr[-3000:]
    a, b = load_checkpoint(tmp_path / 'full' / 'last.pt'), load_checkpoint(cut / 'last.pt')
    assert a['step'] == b['step'] == k + 2
    for key in ('model', 'ema'):
        for n in a[key]: assert torch.equal(a[key][n], b[key][n]), (key, n)
    last = lambda d: [r['loss'] for r in read_metrics(d) if r['step'] == k + 2][-1]
    assert last(tmp_path / 'full') == last(cut)


def test_a_sit_run_killed_while_checkpointing_resumes_from_the_previous_checkpoint(work, tmp_path, killed_in_a_checkpoint):
    killed_in_a_checkpoint('sit', tmp_path / 'sit', str(work['latents']))


def test_stats_are_saved_in_and_read_back_from_sit_checkpoints(work):
    lat = load_latents(work['latents'])
    ck = load_checkpoint(work['sit'])
    stored = LatentStats.from_dict(ck['stats'])
    assert stored.allclose(lat['stats'], atol=0) and stored.allclose(work['enc']['stats'], atol=0)
    _, stats = load_sit(work['sit'])
    assert torch.equal(stats.mean, lat['stats'].mean) and torch.equal(stats.std, lat['stats'].std)
    assert ck['tokenizer'] == asdict(preset('tiny')) and ck['tokenizer_checkpoint'] == str(work['tok'])
    x = tuple(p[:4] for p in lat['planes'])
    for a, b in zip(denormalize(normalize(x, stats), stats), x): torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_a_resumed_run_keeps_its_checkpoints_stats(work, tmp_path):
    lat, sit = tmp_path / 'latents', tmp_path / 'sit'
    shutil.copytree(work['latents'], lat); shutil.copytree(work['sit'].parent, sit)
    stats = load_latents(lat)['stats']
    other = LatentStats(stats.mean + 1, stats.std * 2, 6)
    assert all(stamp_stats(shard_path(lat, k), other) for k in range(3))      # re-measured since
    assert load_latents(lat)['stats'].allclose(other, atol=0)
    with pytest.warns(UserWarning, match="keeping the checkpoint's"):
        res = train_sit(SIT, _sit_train(sit, lat, steps=4))
    assert res['step'] == 4 and res['stats'].allclose(stats, atol=0) and not res['stats'].allclose(other)
    assert LatentStats.from_dict(load_checkpoint(sit / 'last.pt')['stats']).allclose(stats, atol=0)


def test_on_the_fly_encoding_matches_pre_encoded_latents(work, tmp_path):
    cfg = SiTTrainConfig(tokenizer=str(work['tok']), stats_clips=6, encode_batch=4, steps=1, batch_size=4, lr=1e-3, log_every=1,
                         ckpt_every=1, progress=False, device='cpu', out_dir=str(tmp_path / 'fly'))
    res = train_sit(SIT, cfg, DATA)
    assert res['stats'].allclose(load_latents(work['latents'])['stats'], atol=1e-6)
    assert LatentStats.from_dict(load_checkpoint(tmp_path / 'fly' / 'last.pt')['stats']).allclose(res['stats'], atol=0)
    first = lambda d: read_metrics(d)[0]['loss']        # step 1: same clips, noise and times, same initial weights
    assert abs(first(tmp_path / 'fly') - first(work['dir'] / 'sit')) < 1e-5


def test_generate_calls_the_model_once_per_step(work):
    sit, stats = load_sit(work['sit'])
    tok = frozen(load_tokenizer(work['tok']))
    calls = []
    h = sit.register_forward_hook(lambda m, i, o: calls.append(i[0][0].shape[0]))
    rep = {}
    v = generate(sit, tok, stats, n=2, steps=250, seed=3, report=rep)
    assert len(calls) == 250 and rep['model_calls'] == 250 and set(calls) == {2}
    assert v.shape == (2, 16, 32, 32, 3) and v.abs().max() <= 1
    assert rep['seconds_per_video'] > 0 and rep['peak_memory_gb'] > 0
    calls.clear()
    v1 = generate(sit, tok, stats, n=2, steps=250, seed=3, batch_size=1)          # per-video noise: batching changes nothing
    assert len(calls) == 500
    torch.testing.assert_close(v1, v, atol=1e-5, rtol=0)
    assert not torch.allclose(generate(sit, tok, stats, n=1, steps=250, seed=4), v[:1])
    calls.clear()
    generate(sit, tok, stats, n=1, steps=5, sampler='ode')                            # Heun: two calls per step
    assert len(calls) == 10
    h.remove()
    with pytest.raises(ValueError, match="not the tokenizer's"):
        generate(SiT(sit_preset('tiny', channels=8)), tok, LatentStats(torch.zeros(3, 8), torch.ones(3, 8), 1), n=1, steps=2)


def test_cmd_sample_writes_videos_and_a_preview(work, tmp_path):
    rep = cmd_sample(work['sit'], work['tok'], n=3, out=tmp_path / 's', steps=20, device='cpu', progress=False)
    names = sorted(p.name for p in (tmp_path / 's').iterdir())
    assert names == ['grid.mp4', 'grid.png', 'report.json', 'sample-000.mp4', 'sample-001.mp4', 'sample-002.mp4']
    assert rep['model_calls'] == 20 and json.loads((tmp_path / 's' / 'report.json').read_text())['videos'] == 3
    import matplotlib.image
    assert matplotlib.image.imread(tmp_path / 's' / 'grid.png').shape[:2] == (3 * 32 + 2 * 2, 8 * 32 + 7 * 2)


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(work, tmp_path):
    with pytest.raises(NonFiniteLoss, match='stopped before updating'):
        train_sit(SIT, _sit_train(tmp_path / 'nan', work['latents'], steps=20, lr=1e12))
    ck = load_checkpoint(tmp_path / 'nan' / 'last.pt')
    assert 1 <= ck['step'] < 20
    assert all(torch.isfinite(v).all() for v in ck['model'].values())


def test_mismatched_sit_is_refused(work, tmp_path):
    with pytest.raises(ValueError, match="not the tokenizer's"):
        train_sit(sit_preset('tiny', latent_t=16), _sit_train(tmp_path / 'bad', work['latents'], steps=1))
    with pytest.raises(ValueError, match='needs `latents`'):
        train_sit(SIT, SiTTrainConfig(steps=1, out_dir=str(tmp_path / 'none'), device='cpu'))


def test_a_shard_is_safetensors_and_alone_normalises_its_latents(work):
    path = shard_path(work['latents'], 1)
    assert path.name == 'shard-00001.safetensors' and not list(work['latents'].glob('*.pt'))
    assert path.read_bytes()[8:9] == b'{'                                        # a safetensors header, no pickle
    meta = shard_metadata(path)
    assert {k: meta[k] for k in ('format', 'kind', 'shard')} == dict(format=LATENTS_FORMAT, kind='latents', shard=1)
    assert json.loads(meta['planes']) == list(PLANES)
    sh = read_shard(path)
    assert sorted(k for k, v in sh.items() if torch.is_tensor(v)) == sorted(SHARD_TENSORS)
    assert torch.equal(sh['index'], torch.tensor([3, 4, 5])) and sh['xy'].dtype == torch.float32 and sh['index'].dtype == torch.int64
    trained = LatentStats.from_dict(load_checkpoint(work['sit'])['stats'])       # the stats the SiT trained with
    assert sh['stats'].mean.dtype == torch.float64 and torch.equal(sh['stats'].mean, trained.mean) and torch.equal(sh['stats'].std, trained.std)
    assert sh['stats'].n_clips == trained.n_clips == 6
    lat = load_latents(work['latents'])
    for a, b in zip(normalize(tuple(sh[p] for p in PLANES), sh['stats']), normalize(tuple(p[3:6] for p in lat['planes']), trained)):
        assert torch.equal(a, b)
    assert read_latent_stats(path).to_json() == read_latent_stats(work['latents']).to_json() == read_latent_stats(work['sit']).to_json()
    with pytest.raises(ValueError, match='missing'): save_shard(path.with_name('x.safetensors'), {'xy': sh['xy']}, 0)


def test_old_pt_latents_are_refused_with_a_way_out(work, tmp_path):
    d = tmp_path / 'old'; d.mkdir()
    shutil.copy(work['latents'] / 'latents.json', d / 'latents.json')
    sh = read_shard(shard_path(work['latents'], 0))
    save_checkpoint({'format': CKPT_FORMAT, 'kind': 'latents', **{k: sh[k] for k in SHARD_TENSORS}}, d / 'shard-00000.pt')
    save_checkpoint({'format': CKPT_FORMAT, 'kind': 'latent-stats', 'stats': sh['stats'].to_dict()}, d / 'stats.pt')
    for read in (load_latents, read_latent_stats):
        with pytest.raises(ValueError, match=r'old format .*re-run `coordtok encode`'): read(d)
    with pytest.raises(ValueError, match='not a safetensors file'): shard_metadata(d / 'shard-00000.pt')
    res = encode_latents(work['tok'], _enc(d), DATA)                             # the way out: encode again into the same folder
    assert (res['written'], res['n_shards']) == (3, 3)
    assert load_latents(d)['stats'].allclose(load_latents(work['latents'])['stats'], atol=1e-6)
