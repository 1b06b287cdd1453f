"Reading videos, the synthetic dataset, UCF-101-style folders, bad input and loaders (coordtok.data)."
import warnings
from pathlib import Path
import numpy as np
import pytest
import torch
from coordtok.config import preset
from coordtok.data import (SyntheticVideos, VideoFolder, VideoReadError, VideoSkipWarning, EpochSampler, check_clip,
                           collate, infinite, make_loader, read_video, resize_crop, synthetic_video, to_float, write_video)

LEVEL = 10   # grey level step per frame in the test videos: frame t is uniformly 10 * t

def ramp(n: int, h: int = 48, w: int = 64) -> torch.Tensor:
    return torch.stack([torch.full((h, w, 3), LEVEL * t, dtype=torch.uint8) for t in range(n)])

def frame_index(video: torch.Tensor) -> torch.Tensor:
    "Which source frame each frame of a clip is, read from the grey ramp."
    return ((video.mean(dim=(1, 2, 3)) + 1) * 127.5 / LEVEL).round().long()

@pytest.fixture(scope='module')
def ucf(tmp_path_factory) -> Path:
    "A tiny UCF-101-style tree: 2 classes, 20-frame 48x64 videos (.mp4 and .avi), a 5-frame video, split files."
    root = tmp_path_factory.mktemp('ucf')
    for name, n in [('Archery/v_Archery_g01_c01.mp4', 20), ('Archery/v_Archery_g02_c01.avi', 20),
                    ('Bowling/v_Bowling_g01_c01.mp4', 5), ('Bowling/v_Bowling_g02_c01.mp4', 20)]:
        write_video(root / name, ramp(n))
    (root / 'trainlist01.txt').write_text('Archery/v_Archery_g01_c01.mp4 1\r\nArchery/v_Archery_g02_c01.avi 1\r\n'
                                          'Bowling/v_Bowling_g01_c01.mp4 2\r\n')
    (root / 'testlist01.txt').write_text('Bowling/v_Bowling_g02_c01.mp4\n')
    return root

def test_read_video_any_size(ucf):
    v = read_video(ucf / 'Archery/v_Archery_g01_c01.mp4')
    assert v.shape == (20, 48, 64, 3) and v.dtype == torch.float32
    assert (v - to_float(ramp(20))).abs().max() < 0.05             # H.264 is lossy, by a few levels
    assert read_video(ucf / 'Archery/v_Archery_g02_c01.avi', 24, frames=3, start=18).shape == (2, 24, 24, 3)
    assert read_video(ucf / 'Archery/v_Archery_g01_c01.mp4', 24, crop=False).shape == (20, 24, 32, 3)
    with pytest.raises(VideoReadError, match='missing.mp4: no such file'): read_video(ucf / 'missing.mp4')

def test_resize_crop_shape_and_range():
    g = torch.Generator().manual_seed(0)
    frames = torch.randint(0, 256, (3, 240, 320, 3), dtype=torch.uint8, generator=g)
    out = resize_crop(frames, 128)
    assert out.shape == (3, 128, 128, 3) and out.min() >= -1 and out.max() <= 1
    step = torch.zeros(1, 16, 16, 3, dtype=torch.uint8); step[:, :, 8:] = 255
    up = resize_crop(step, 64)                                      # bicubic overshoots at a hard edge: clamped
    assert up.min() == -1 and up.max() == 1 and ((up > -1) & (up < 1)).any()
    assert resize_crop(frames, 64, crop=48).shape == (3, 48, 48, 3)
    # the centre crop: a frame whose left and right thirds differ keeps only the middle
    f = torch.arange(90, dtype=torch.uint8)[None, None, :, None].expand(1, 60, 90, 3)   # grey level = column
    c = resize_crop(f, 60)
    assert c.shape == (1, 60, 60, 3) and torch.equal(c[0, 0, :, 0], to_float(torch.arange(15, 75, dtype=torch.uint8)))
    with pytest.raises(ValueError, match='larger than the resized frame'): resize_crop(frames, 64, crop=65)

def test_eval_window_is_first_and_padding(ucf):
    ds = VideoFolder(ucf, frames=8, size=32, train=False, split=ucf / 'trainlist01.txt')
    assert len(ds) == 3 and ds.classes == ['Archery', 'Bowling']
    it = ds[0]
    assert set(it) == {'video', 'n_frames', 'label', 'path'}
    assert it['video'].shape == (8, 32, 32, 3) and it['video'].dtype == torch.float32 and it['n_frames'] == 8
    assert it['video'].min() >= -1 and it['video'].max() <= 1
    assert frame_index(it['video']).tolist() == list(range(8))
    assert torch.equal(ds[0]['video'], it['video'])
    short = ds[2]                                                   # a 5-frame video in an 8-frame clip
    assert short['n_frames'] == 5 and short['label'] == 1 and short['path'].endswith('v_Bowling_g01_c01.mp4')
    assert frame_index(short['video'][:5]).tolist() == list(range(5))
    assert (short['video'][5:] == 0).all() and (short['video'][:5] != 0).any()
    test = VideoFolder(ucf, frames=8, size=32, train=False, split=ucf / 'testlist01.txt')
    assert len(test) == 1 and test[0]['label'] == 1

def test_random_windows_reproducible(ucf):
    make = lambda seed: VideoFolder(ucf, frames=8, size=32, split=ucf / 'trainlist01.txt', seed=seed)
    ds = make(0)
    starts = []
    for epoch in range(8):
        idx = frame_index(ds[(0, epoch)]['video'])
        assert idx.tolist() == list(range(int(idx[0]), int(idx[0]) + 8))   # consecutive frames
        assert 0 <= idx[0] <= 12
        starts.append(int(idx[0]))
    assert len(set(starts)) > 1                                     # epochs see different windows
    assert starts == [int(frame_index(make(0)[(0, e)]['video'])[0]) for e in range(8)]   # a new dataset: same windows
    assert starts != [int(frame_index(make(1)[(0, e)]['video'])[0]) for e in range(8)]   # another seed: others
    assert ds[2]['n_frames'] == 5                                   # short videos are read whole in training too

def test_bad_files_skipped_with_warning_and_counted(ucf, tmp_path):
    root = tmp_path / 'ucf'
    (root / 'Archery').mkdir(parents=True)
    write_video(root / 'Archery/good.mp4', ramp(12))
    (root / 'Archery/corrupt.avi').write_bytes(np.random.default_rng(0).bytes(4096))
    (root / 'Archery/empty.avi').touch()
    ds = VideoFolder(root, frames=8, size=32, train=False)
    assert ds.files == ['Archery/corrupt.avi', 'Archery/empty.avi', 'Archery/good.mp4']
    with pytest.warns(VideoSkipWarning) as rec:
        it = ds[0]
    msgs = [str(w.message) for w in rec]
    assert any('corrupt.avi' in m and 'FFmpeg' in m for m in msgs) and any('empty.avi' in m and '0 bytes' in m for m in msgs)
    assert it['path'].endswith('good.mp4') and ds.skipped == 2
    assert ds[1]['path'].endswith('good.mp4') and ds.skipped == 3  # known-bad files are replaced without decoding again
    assert torch.equal(ds[0]['video'], it['video'])                 # the replacement is deterministic
    # skips in loader workers reach the main process's count
    fresh = VideoFolder(root, frames=8, size=32, train=False)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        batch = next(iter(make_loader(fresh, 3, shuffle=False, num_workers=1)))
    assert all(p.endswith('good.mp4') for p in batch['path']) and fresh.skipped >= 2

def test_all_bad_raises(tmp_path):
    (tmp_path / 'c').mkdir(); (tmp_path / 'c/a.avi').touch()
    ds = VideoFolder(tmp_path, frames=4, size=16)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        with pytest.raises(RuntimeError, match='none of the 1 videos'): ds[0]

def test_constructor_errors(ucf, tmp_path):
    (tmp_path / 'empty/SomeClass').mkdir(parents=True)
    with pytest.raises(ValueError, match='no videos'): VideoFolder(tmp_path / 'empty')
    with pytest.raises(FileNotFoundError, match='does not exist'): VideoFolder(tmp_path / 'nowhere')
    (tmp_path / 'split.txt').write_text('Archery/v_Archery_g01_c01.mp4 1\nArchery/v_gone.avi 1\n')
    with pytest.raises(ValueError, match=r'names 1 of 2 videos missing.*v_gone\.avi'):
        VideoFolder(ucf, split=tmp_path / 'split.txt')
    with pytest.raises(ValueError, match='crop 128 is larger than the resize size 64'): VideoFolder(ucf, size=64, crop=128)
    cpu = preset('cpu')   # 128 frames of 64x64
    with pytest.raises(ValueError, match='takes exactly frames=128'): VideoFolder(ucf, frames=16, size=64, cfg=cpu)
    with pytest.raises(ValueError, match='clip size 48x48'): VideoFolder(ucf, frames=128, size=64, crop=48, cfg=cpu)
    VideoFolder(ucf, frames=128, size=64, cfg=cpu)                  # fits

def test_check_clip():
    cfg = preset('tiny')                                            # 16 frames of 32x32
    check_clip(16, 32, cfg); check_clip(7, 5, None)
    with pytest.raises(ValueError, match='clip length 12 .* frames=16'): check_clip(12, 32, cfg)
    with pytest.raises(ValueError, match='clip size 64x64 .* 32x32'): check_clip(16, 64, cfg)
    with pytest.raises(ValueError, match='clip size 32x48'): check_clip(16, (32, 48), cfg)
    with pytest.raises(ValueError, match='takes exactly frames=16'): SyntheticVideos(4, frames=8, size=32, cfg=cfg)

def test_synthetic_determinism():
    a, b = SyntheticVideos(8, frames=16, size=32, seed=0), SyntheticVideos(8, frames=16, size=32, seed=0)
    assert torch.equal(a[5]['video'], b[5]['video']) and torch.equal(a[5]['video'], a[5]['video'])
    _ = [b[i] for i in (7, 1, 3)]                                   # order does not matter
    assert torch.equal(a[5]['video'], b[5]['video'])
    assert not torch.equal(a[5]['video'], a[4]['video'])
    assert not torch.equal(a[5]['video'], SyntheticVideos(8, frames=16, size=32, seed=1)[5]['video'])
    it = a[5]
    assert set(it) == {'video', 'n_frames', 'label', 'path'} and it['n_frames'] == 16 and 0 <= it['label'] < len(a.classes)
    v = it['video']
    assert v.dtype == torch.float32 and v.min() >= -1 and v.max() <= 1 and v.std() > 0.1

def test_synthetic_any_length_and_size():
    v = synthetic_video(3, 40, (24, 40))
    assert v.shape == (40, 24, 40, 3)
    assert torch.equal(synthetic_video(3, 10, (24, 40)), v[:10])    # a shorter render is a prefix
    assert SyntheticVideos(2, frames=5, size=96)[0]['video'].shape == (5, 96, 96, 3)

def test_synthetic_dynamics():
    still = synthetic_video(1, 12, 32, dynamics=0)
    assert (still - still[:1]).abs().max() == 0                     # every frame the same
    change = lambda d: np.mean([synthetic_video(s, 24, 32, dynamics=d).diff(dim=0).abs().mean().item() for s in range(3)])
    c = [change(d) for d in (0.25, 1.0, 3.0)]
    assert 0 < c[0] < c[1] < c[2], c
    # detail raises the texture frequency: more change between neighbouring pixels
    dx = lambda d: synthetic_video(1, 2, 64, detail=d).diff(dim=2).abs().mean().item()
    assert dx(0.5) < dx(2.0)

def test_synthetic_short_items_padded():
    ds = SyntheticVideos(12, frames=16, size=16, min_frames=4)
    ns = [ds[i]['n_frames'] for i in range(12)]
    assert all(4 <= n <= 16 for n in ns) and min(ns) < 16
    for i in range(12):
        it = ds[i]
        assert (it['video'][it['n_frames']:] == 0).all() and (it['video'][it['n_frames'] - 1] != 0).any()
    full = SyntheticVideos(12, frames=16, size=16)                  # same content, only cut short
    i = ns.index(min(ns))
    assert torch.equal(ds[i]['video'][:ns[i]], full[i]['video'][:ns[i]])

def test_loader_batches_epochs_and_shards():
    ds = SyntheticVideos(10, frames=4, size=8, min_frames=2)
    dl = make_loader(ds, 4, shuffle=True, seed=0, drop_last=True)
    assert len(dl) == 2
    b = next(iter(dl))
    assert b['video'].shape == (4, 4, 8, 8, 3) and b['n_frames'].shape == (4,) and b['n_frames'].dtype == torch.long
    assert b['label'].dtype == torch.long and len(b['path']) == 4
    it = infinite(dl)
    epochs = [[p for _ in range(2) for p in next(it)['path']] for _ in range(3)]
    assert epochs[0] != epochs[1]                                   # reshuffled by set_epoch
    again = infinite(make_loader(ds, 4, shuffle=True, seed=0, drop_last=True))
    assert [p for _ in range(2) for p in next(again)['path']] == epochs[0]   # reproducible
    shards = [list(EpochSampler(ds, shuffle=True, seed=0, rank=r, world_size=2)) for r in range(2)]
    assert len(shards[0]) == len(shards[1]) == 5 and all(k[1] == 0 for k in shards[0])
    assert sorted(i for s in shards for i, _ in s) == list(range(10))
    assert len(make_loader(ds, 2, rank=1, world_size=2)) == 3
    with pytest.raises(ValueError, match='rank 2'): make_loader(ds, 2, rank=2, world_size=2)

def test_collate_rejects_mixed_shapes():
    items = [dict(video=torch.zeros(4, 8, 8, 3), n_frames=4, label=0, path='a'),
             dict(video=torch.zeros(4, 8, 6, 3), n_frames=4, label=0, path='b')]
    with pytest.raises(ValueError, match='different shapes'): collate(items)

def test_prepare_ucf101_script(ucf, tmp_path):
    "data/prepare_ucf101.py with local archives (a .zip stands in for the .rar); nothing is downloaded."
    import subprocess, sys, zipfile
    from coordtok.data import ucf101
    script = Path(__file__).resolve().parents[1] / 'data' / 'prepare_ucf101.py'
    videos = tmp_path / 'UCF101.zip'
    with zipfile.ZipFile(videos, 'w') as z:
        for p in sorted(ucf.rglob('*.mp4')) + sorted(ucf.rglob('*.avi')): z.write(p, f"UCF-101/{p.relative_to(ucf)}")
    splits = tmp_path / 'splits.zip'
    with zipfile.ZipFile(splits, 'w') as z:
        z.writestr('ucfTrainTestlist/trainlist01.txt', (ucf / 'trainlist01.txt').read_text().replace('Archery/v_A', 'archery/v_A'))
        z.writestr('ucfTrainTestlist/testlist01.txt', (ucf / 'testlist01.txt').read_text())
    out = tmp_path / 'ucf101'
    r = subprocess.run([sys.executable, str(script), '--out', str(out), '--archive', str(videos), '--splits', str(splits),
                        '--check', '1'], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert (out / 'train.txt').read_text().splitlines() == [   # case fixed to the disk, labels 1-based
        'Archery/v_Archery_g01_c01.mp4 1', 'Archery/v_Archery_g02_c01.avi 1', 'Bowling/v_Bowling_g01_c01.mp4 2']
    assert (out / 'test.txt').read_text().split() == ['Bowling/v_Bowling_g02_c01.mp4']
    tr, te = ucf101(out, 'train', frames=4, size=16), ucf101(out, 'test', frames=4, size=16)
    assert (len(tr), len(te), tr.train, te.train) == (3, 1, True, False)
    # a .rar with no extractor installed: a clear error that names the tools
    (tmp_path / 'UCF101.rar').write_bytes(b'Rar!\x1a\x07\x00')
    r = subprocess.run([sys.executable, str(script), '--out', str(tmp_path / 'x'), '--archive', str(tmp_path / 'UCF101.rar')],
                       capture_output=True, text=True, env={'PATH': str(tmp_path)})
    assert r.returncode != 0 and 'unrar' in r.stderr and 'bsdtar' in r.stderr, r.stderr
