import json
import pytest
import torch
import coordtok.ablations as A
from coordtok.ablations import (run_ablation, score, synthetic_pair, ablation_variants, ablation_table, random_lpips_file,
                                load_ablation, TINY_SIZES)
from coordtok.data import CachedVideos
from coordtok.config import preset
from coordtok.metrics import video_psnr, lpips_net
from coordtok.tokenizer import CoordTok

torch.set_num_threads(1)
TINY = preset('tiny')
VARIANTS = {'Rt=4': {'model': {'latent_t': 4}}, 'base': {}, 'ratio': {'train': {'coord_ratio': 0.05}}}


@pytest.fixture(scope='module')
def data():
    return synthetic_pair(TINY, 8, 2)


@pytest.fixture
def calls(monkeypatch):
    "Every `train` call run_ablation makes, as (model_cfg, train_cfg); the real training still runs."
    seen, real = [], A.train
    def spy(mcfg, tcfg, *a, **k):
        seen.append((mcfg, tcfg)); return real(mcfg, tcfg, *a, **k)
    monkeypatch.setattr(A, 'train', spy)
    return seen


def test_writes_one_row_per_variant_and_one_run_per_seed(tmp_path, data, calls):
    res = run_ablation('t', VARIANTS, steps=2, seeds=(0, 3), datasets=data, out_dir=tmp_path, work_dir=tmp_path / 'w')
    saved = load_ablation('t', tmp_path)
    assert saved == json.loads(json.dumps(res))
    assert [r['variant'] for r in saved['rows']] == list(VARIANTS)
    for r in saved['rows']:
        assert [x['seed'] for x in r['runs']] == [0, 3]
        assert all(5 < x['psnr'] < 60 and -1 <= x['ssim'] <= 1 for x in r['runs'])
        assert r['psnr_mean'] == pytest.approx(sum(x['psnr'] for x in r['runs']) / 2)
    assert len(calls) == 6
    assert {(m.latent_t, t.seed) for m, t in calls} == {(4, 0), (4, 3), (8, 0), (8, 3)}
    rows = {r['variant']: r for r in saved['rows']}
    assert rows['Rt=4']['tokens'] == 64 + 2 * 4 * 8 and rows['base']['tokens'] == 192
    assert rows['ratio']['decoded_per_video'] == round(0.05 * TINY.n_patches)
    assert ablation_table(saved).count('\n') == 1 + len(VARIANTS)   # header, rule, one line per variant


def test_reuses_result_with_same_settings_and_reruns_otherwise(tmp_path, data, calls):
    v = {'a': {}, 'b': {'model': {'latent_xy': 4}}}
    first = run_ablation('r', v, steps=2, seeds=(0,), datasets=data, out_dir=tmp_path)
    assert len(calls) == 2
    again = run_ablation('r', v, steps=2, seeds=(0,), datasets=data, out_dir=tmp_path)
    assert len(calls) == 2 and again == json.loads(json.dumps(first))               # read back, nothing trained
    run_ablation('r', v, steps=3, seeds=(0,), datasets=data, out_dir=tmp_path)        # other settings: trained again
    assert len(calls) == 4 and load_ablation('r', tmp_path)['settings']['steps'] == 3
    run_ablation('r', {'a': {}}, steps=3, seeds=(0,), datasets=data, out_dir=tmp_path)  # other variants: trained again
    assert len(calls) == 5 and [r['variant'] for r in load_ablation('r', tmp_path)['rows']] == ['a']
    run_ablation('r', {'a': {}}, steps=3, seeds=(0,), datasets=data, out_dir=tmp_path, force=True)
    assert len(calls) == 6


def test_finished_runs_in_work_dir_are_not_trained_twice(tmp_path, data, calls):
    kw = dict(steps=2, seeds=(0,), datasets=data, out_dir=None, work_dir=tmp_path)
    a = run_ablation('w', {'x': {}}, **kw)
    b = run_ablation('w', {'x': {}, 'same config, other label': {'model': {'latent_t': 8}}}, **kw)
    assert len(calls) == 1 and b['rows'][1]['runs'] == a['rows'][0]['runs']


def test_stage2_starts_from_stage1_and_scores_lpips(tmp_path, data, calls):
    res = run_ablation('s', {'ft': {'stage2': {'steps': 2}}}, steps=2, seeds=(0,), datasets=data, lpips=True,
                       out_dir=tmp_path, work_dir=tmp_path / 'w')
    (m1, t1), (m2, t2) = calls
    assert t1.stage == 1 and t2.stage == 2 and t2.steps == 2 and m1 == m2
    assert t2.init_from == str(tmp_path / 'w' / t2.init_from.split('/')[-3] / 'stage1' / 'last.pt')
    assert t2.n_frames == TINY.frames // 8 and t2.lpips_weight == 1.0 and t2.lr == pytest.approx(t1.lr * 0.1)
    assert t2.lpips_backbone == t1.lpips_backbone and t2.lpips_backbone.endswith('.pth')   # the same (random) LPIPS net
    assert 0 <= res['rows'][0]['runs'][0]['lpips'] and 'random VGG16' in res['lpips_network']
    with pytest.raises(ValueError, match=r"unknown keys \['stage3'\]"):
        run_ablation('s', {'x': {'stage3': {}}}, datasets=data, out_dir=None)


def test_score_psnr_matches_video_psnr(data):
    torch.manual_seed(0)
    m = CoordTok(TINY)
    s = score(m, data[1], batch=1)
    v = torch.stack([data[1][i]['video'] for i in range(len(data[1]))])
    with torch.no_grad(): r = m.reconstruct(v).clamp(-1, 1)
    assert s['psnr'] == pytest.approx(float(video_psnr(r, v).mean()), abs=1e-4)
    assert 'lpips' not in s and score(m, data[1], batch=2) == pytest.approx(s, abs=1e-5)


def test_random_lpips_file_is_seeded(tmp_path):
    a, b, c = (lpips_net(backbone=random_lpips_file(tmp_path / f, seed)) for f, seed in (('a.pth', 0), ('b.pth', 0), ('c.pth', 1)))
    x, y = torch.rand(2, 3, 32, 32) * 2 - 1, torch.rand(2, 3, 32, 32) * 2 - 1
    assert torch.equal(a(x, y), b(x, y)) and not torch.equal(a(x, y), c(x, y))


def test_variants_follow_the_paper_for_coordtok_b():
    B = preset('coordtok-B')
    v = ablation_variants(B)
    assert list(v['spatial_resolution']) == ['Rxy=8', 'Rxy=16', 'Rxy=32']
    assert list(v['temporal_resolution']) == ['Rt=16', 'Rt=32', 'Rt=64']
    assert B.replace(**v['tokens']['3072 tokens']['model']) == preset('coordtok-B-3072')
    assert [B.replace(**v['model_size'][s]['model']) for s in 'SBL'] == [preset(f'coordtok-{s}') for s in 'SBL']
    f = v['frame_vs_coordinate']
    assert f['frames']['train']['n_frames'] * 16 * 16 == f['coordinates']['train']['n_coords'] == 1024
    t = ablation_variants(TINY, TINY_SIZES, n_coords=128)
    assert t['frame_vs_coordinate']['frames']['train']['n_frames'] == 2   # 2 frames of 8x8 patches = 128 coordinates
    for sweep in t.values():                                     # every CPU variant builds a valid tokenizer
        for over in sweep.values(): TINY.replace(**over.get('model', {}))
    assert TINY.replace(**t['model_size']['B']['model']) == TINY


def test_cached_videos_accepts_training_keys():
    from coordtok.data import SyntheticVideos
    src = SyntheticVideos(3, frames=16, size=32, seed=0)
    d = CachedVideos(src, n=2)
    assert len(d) == 2 and torch.equal(d[1]['video'], src[1]['video']) and torch.equal(d[1]['video'], d[(1, 12345)]['video'])
