"The explorer's plain functions on a tiny random tokenizer, and its widget box driven from Python."
from dataclasses import asdict
import math
import pytest
import torch
from coordtok.config import preset
from coordtok.tokenizer import CoordTok
from coordtok.data import SyntheticVideos, write_video
from coordtok.metrics import frame_psnr, video_psnr
from coordtok.patches import grid_coords
from coordtok.triplane import sample_triplane
from coordtok.visualize import planes_to_rgb
from coordtok.runtime import save_checkpoint, CKPT_FORMAT
from coordtok.explorer import (as_model, load_video, encode_video, reconstruct_video, frame_panel, plane_images,
                               pixel_to_coord, lookup_point, subset_index, decode_subset, subset_stats, subset_panel,
                               to_png, Explorer, explorer)

torch.set_num_threads(1)
CFG = preset('tiny')   # 16 frames of 32x32, decoder patches 1x4x4: a (16, 8, 8) grid of 1024 patches


@pytest.fixture(scope='module')
def model():
    torch.manual_seed(0)
    return CoordTok(CFG).eval()

@pytest.fixture(scope='module')
def clip():
    return load_video(3, CFG)

@pytest.fixture(scope='module')
def planes(model, clip):
    return encode_video(model, *clip)

def _01(v): return ((v + 1) / 2).clamp(0, 1).permute(0, 3, 1, 2)


def test_as_model_from_checkpoint(model, tmp_path):
    path = save_checkpoint({'format': CKPT_FORMAT, 'model': model.state_dict(), 'config': {'model': asdict(CFG)}}, tmp_path / 'ck.pt')
    loaded = as_model(path)
    assert loaded.cfg == CFG and not loaded.training
    for (k, a), b in zip(model.state_dict().items(), loaded.state_dict().values()): assert torch.equal(a, b), k
    with pytest.raises(TypeError, match='expected a CoordTok'): as_model(torch.zeros(1))


def test_load_video_sources(tmp_path):
    ds = SyntheticVideos(5, frames=16, size=32, seed=7)
    v, n = load_video(3, CFG)
    assert v.shape == (16, 32, 32, 3) and n == 16 and v.dtype == torch.float32
    assert torch.equal(v, SyntheticVideos(4, frames=16, size=32, seed=0)[3]['video'])
    assert torch.equal(load_video(3, CFG, seed=7)[0], ds[3]['video'])
    assert torch.equal(load_video(2, CFG, dataset=ds)[0], ds[2]['video'])
    assert torch.equal(load_video((ds, 4), CFG)[0], ds[4]['video'])
    assert torch.equal(load_video(ds[1], CFG)[0], ds[1]['video'])
    short, n = load_video(v[:5][None], CFG)                   # a batch of one, zero-padded
    assert n == 5 and short[5:].abs().max() == 0 and torch.equal(short[:5], v[:5])
    u8, _ = load_video(((v + 1) * 127.5).round().to(torch.uint8), CFG)
    assert (u8 - v).abs().max() < 0.01
    f = write_video(tmp_path / 'clip.mp4', torch.rand(10, 48, 64, 3) * 2 - 1)   # resized, centre-cropped, padded
    fv, fn = load_video(str(f), CFG)
    assert fv.shape == (16, 32, 32, 3) and fn == 10 and fv[10:].abs().max() == 0
    with pytest.raises(ValueError, match=r'the model takes \(16, 32, 32, 3\)'): load_video(torch.zeros(16, 8, 8, 3), CFG)
    with pytest.raises(TypeError, match='cannot load a video from a float'): load_video(1.5, CFG)
    with pytest.raises(Exception, match='no such file'): load_video(str(tmp_path / 'missing.mp4'), CFG)


def test_reconstruct_video_psnr_per_frame(model, clip, planes):
    video, n = clip
    recon, psnr = reconstruct_video(model, video, n)
    assert recon.shape == video.shape and psnr.shape == (16,)
    assert recon.abs().max() <= 1
    torch.testing.assert_close(psnr, frame_psnr(_01(video), _01(recon)))
    torch.testing.assert_close(psnr.mean(), video_psnr(video[None], recon[None])[0], atol=1e-4, rtol=0)
    with torch.no_grad(): full = model.reconstruct(video[None])[0].clamp(-1, 1)
    torch.testing.assert_close(recon, full, atol=1e-5, rtol=0)
    recon2, _ = reconstruct_video(model, video, n, chunk=256, planes=planes)   # chunks attend within themselves
    with torch.no_grad(): chunked = model.decode_video(planes, 256)[0].clamp(-1, 1)
    torch.testing.assert_close(recon2, chunked, atol=1e-5, rtol=0)
    assert (recon2 - recon).abs().max() > 1e-3
    padded, m = load_video(video[:6], CFG)
    _, p = reconstruct_video(model, padded, m)
    assert p[:6].isfinite().all() and p[6:].isnan().all()


def test_frame_panel(clip):
    video, _ = clip
    recon = video.flip(1)
    panel = frame_panel(video, recon, 4, sep=3)
    assert panel.shape == (32, 3 * 32 + 2 * 3, 3) and 0 <= panel.min() and panel.max() <= 1
    torch.testing.assert_close(panel[:, :32], (video[4] + 1) / 2)
    torch.testing.assert_close(panel[:, 35:67], (recon[4] + 1) / 2)
    assert (panel[:, 32:35] == 1).all()                                       # white separators
    assert frame_panel(video, video, 0)[:, -32:].max() == 0                   # no error, black panel
    with pytest.raises(IndexError, match='frame -1'): frame_panel(video, recon, -1)


def test_plane_images(planes):
    pca = plane_images(planes)
    for a, b in zip(pca, planes_to_rgb(planes)): assert torch.equal(a, b)
    imgs = plane_images(planes, 'channel', 1)
    assert [tuple(i.shape) for i in imgs] == [(8, 8, 3)] * 3
    vals = torch.cat([p[0, 1].flatten() for p in planes])
    flat = torch.cat([i.reshape(-1, 3) for i in imgs])
    from matplotlib import colormaps
    top, bottom = colormaps['viridis'](1.0)[:3], colormaps['viridis'](0.0)[:3]
    torch.testing.assert_close(flat[vals.argmax()], torch.tensor(top, dtype=torch.float32))
    torch.testing.assert_close(flat[vals.argmin()], torch.tensor(bottom, dtype=torch.float32))
    assert not torch.equal(imgs[0], plane_images(planes, 'channel', 2)[0])
    with pytest.raises(ValueError, match="mode must be 'pca' or 'channel'"): plane_images(planes, 'rgb')
    with pytest.raises(IndexError, match='channel 4 of 4'): plane_images(planes, 'channel', 4)


def test_lookup_point_equals_sample_triplane(planes):
    g = torch.Generator().manual_seed(0)
    for t, x, y in torch.rand(5, 3, generator=g).tolist():
        look = lookup_point(planes, t, x, y)
        assert look['features'].shape == (3 * CFG.channels,)
        torch.testing.assert_close(look['features'], sample_triplane(planes, torch.tensor([[[t, x, y]]]))[0, 0])
        want = {'xy': (x * 7, y * 7), 'yt': (t * 7, y * 7), 'xt': (t * 7, x * 7)}
        for k, v in want.items(): assert look['positions'][k] == pytest.approx(v), k
    # positions in cell units on planes whose temporal side (5) differs from the spatial one (8)
    odd = (torch.randn(1, 2, 8, 8), torch.randn(1, 2, 5, 8), torch.randn(1, 2, 5, 8))
    pos = lookup_point(odd, 0.5, 0.25, 1.0)['positions']
    assert pos == {'xy': (1.75, 7.0), 'yt': (2.0, 7.0), 'xt': (2.0, 1.75)}
    # a point on a cell centre reads exactly that cell of each plane
    look = lookup_point(planes, 2 / 7, 5 / 7, 1.0)
    xy, yt, xt = (p[0] for p in planes)
    torch.testing.assert_close(look['features'], torch.cat([xy[:, 5, 7], yt[:, 2, 7], xt[:, 2, 5]]))


def test_pixel_to_coord():
    assert pixel_to_coord(CFG, 0, 0, 0) == (0.0, 0.0, 0.0)
    assert pixel_to_coord(CFG, 15, 31, 31) == (1.0, 1.0, 1.0)
    assert pixel_to_coord(CFG, 9, 13, 30) == pytest.approx((9 / 15, 3 / 7, 7 / 7))
    assert pixel_to_coord(CFG, 9, 12, 28) == pixel_to_coord(CFG, 9, 15, 31)   # one 4x4 patch
    with pytest.raises(IndexError, match='row 32 is outside 0..31'): pixel_to_coord(CFG, 0, 32, 0)


def test_decode_subset(model, planes):
    N, k = CFG.n_patches, round(0.2 * CFG.n_patches)
    sub, mask = decode_subset(model, planes, 0.2, seed=3, fill=-0.5)
    assert sub.shape == (16, 32, 32, 3) and mask.shape == (16, 32, 32)
    assert int(mask.sum()) == k * 16                                         # exactly ratio * N patches of 4x4 pixels
    assert (sub[~mask] == -0.5).all()                                         # the rest is masked
    idx = subset_index(N, 0.2, 3)
    assert len(idx) == k and len(idx.unique()) == k
    coords = grid_coords(CFG.dec_grid)[idx]
    t, x, y = (coords[:, 0] * 15).round().long(), (coords[:, 1] * 7).round().long(), (coords[:, 2] * 7).round().long()
    assert mask[t, x * 4, y * 4].all()
    with torch.no_grad():
        alone = model.decode(planes, coords[None])[0]                         # (k, 48): the subset in one pass
        full = model.decode_video(planes)[0]
    got = sub.reshape(16, 8, 4, 8, 4, 3).permute(0, 1, 3, 2, 4, 5).reshape(N, 48)[idx]
    torch.testing.assert_close(got, alone, atol=1e-5, rtol=0)
    # self-attention spans the decoded set: the same patches differ when decoded with all the others
    assert (sub[mask] - full[mask]).abs().max() > 1e-3
    # nested over ratios, seeds differ, ratio 1 is the full decode
    assert not (mask & ~decode_subset(model, planes, 0.5, seed=3)[1]).any()
    assert not torch.equal(mask, decode_subset(model, planes, 0.2, seed=4)[1])
    all_, mall = decode_subset(model, planes, 1.0)
    assert mall.all()
    torch.testing.assert_close(all_, full, atol=1e-5, rtol=0)
    assert int(decode_subset(model, planes, 1e-6)[1].sum()) == 16             # at least one patch
    for bad in (0, -0.1, 1.5):
        with pytest.raises(ValueError, match=r'ratio must lie in \(0, 1\]'): decode_subset(model, planes, bad)


def test_subset_stats_and_panel(model, clip, planes):
    video, n = clip
    recon, _ = reconstruct_video(model, video, n, planes=planes)
    sub, mask = decode_subset(model, planes, 0.25)
    st = subset_stats(video, recon, sub, mask)
    assert st['fraction'] == pytest.approx(256 / 1024)
    mse = (((recon + 1) / 2).clamp(0, 1) - ((video + 1) / 2).clamp(0, 1))[mask].pow(2).mean()
    assert st['psnr_full'] == pytest.approx(float(10 * torch.log10(1 / mse)), abs=1e-4)
    assert st['max_change'] > 0
    assert subset_stats(video, recon, *decode_subset(model, planes, 1.0))['max_change'] < 1e-5
    panel = subset_panel(recon, sub, mask, 2)
    assert panel.shape == (32, 100, 3)
    torch.testing.assert_close(panel[:, 34:66], (recon[2].clamp(-1, 1) + 1) / 2)
    assert (panel[:, :32][~mask[2]] == 0.5).all() and (panel[:, -32:][~mask[2]] == 0.5).all()


def test_to_png():
    png = to_png(torch.rand(5, 7, 3), scale=3)
    assert png[:8] == b'\x89PNG\r\n\x1a\n'
    from PIL import Image
    import io
    assert Image.open(io.BytesIO(png)).size == (21, 15)


def test_explorer_widgets(model, tmp_path):
    box = explorer(model, 3)
    c, ex = box.controls, box.explorer
    assert isinstance(ex, Explorer) and c['frame'].max == 15
    frame0, label0, planes0, subset0 = (c[k].value for k in ('frame_image', 'frame_label', 'planes_image', 'subset_image'))
    assert frame0[:8] == b'\x89PNG\r\n\x1a\n' and label0.startswith('frame 0 / 15')
    c['frame'].value = 6                                                      # the slider's callback
    assert c['frame_image'].value != frame0 and c['frame_label'].value.startswith('frame 6 / 15')
    assert f"{ex.psnr[6]:.2f} dB" in c['frame_label'].value
    assert c['subset_image'].value != subset0 and c['planes_image'].value != planes0
    planes1 = c['planes_image'].value
    c['row'].value = 3
    assert c['planes_image'].value != planes1
    c['mode'].value = 'channel'
    assert not c['channel'].disabled
    sub1 = c['subset_image'].value
    c['ratio'].value = 0.5
    assert c['subset_image'].value != sub1 and '512 of 1024 patches' in c['subset_label'].value
    c['source'].value = str(tmp_path / 'missing.mp4'); c['load'].click()
    assert 'no such file' in c['status'].value and torch.equal(ex.video, load_video(3, CFG)[0])
    c['source'].value = '5'; c['load'].click()
    assert torch.equal(ex.video, load_video(5, CFG)[0]) and c['status'].value.startswith('loaded 5')
    fig = ex.figure(t=2, row=5, col=6, ratio=0.1)
    assert len(fig.axes) == 8
