"Metrics against independent computations: NumPy PSNR, scikit-image SSIM, SciPy Frechet distance, the reference I3D."
import math, zlib
import numpy as np
import pytest
import scipy.linalg, scipy.ndimage, scipy.stats
import torch
import torch.nn as nn
import torch.nn.functional as F
from skimage.metrics import structural_similarity

import coordtok.metrics as M


# ---------------------------------------------------------------- realistic content
def textured_video(B=2, T=5, H=48, W=56, seed=0):
    "(B, T, H, W, 3) in [-1, 1]: smooth colour gradients + sharp-edged shapes moving over time + mild noise."
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(T).view(1, T, 1, 1, 1).float()
    x = torch.arange(H).view(1, 1, H, 1, 1).float()
    y = torch.arange(W).view(1, 1, 1, W, 1).float()
    phase = torch.rand(B, 1, 1, 1, 3, generator=g) * 6
    smooth = 0.4 * torch.sin(x / 7 + phase) * torch.cos(y / 11 + 0.3 * t + phase)
    box = (((x - 10 - 2 * t).abs() < 8) & ((y - 20 - t).abs() < 10)).float() * 0.6    # moving rectangle
    disk = (((x - 30) ** 2 + (y - 38 + 1.5 * t) ** 2) < 64).float() * -0.5         # moving disk
    v = smooth + box + disk + 0.03 * torch.randn(B, T, H, W, 3, generator=g)
    return v.clamp(-1, 1)

def degraded(v, seed=1):
    "A plausible reconstruction: blurred, slightly shifted, noised."
    g = torch.Generator().manual_seed(seed)
    f = v.flatten(0, 1).permute(0, 3, 1, 2)
    k = torch.tensor([1., 2., 1.]) / 4
    f = F.conv2d(F.pad(f.reshape(-1, 1, *f.shape[2:]), (1, 1, 1, 1), mode='replicate'), (k.view(3, 1) * k.view(1, 3))[None, None])
    f = f.reshape(v.shape[0] * v.shape[1], 3, *v.shape[2:4]).permute(0, 2, 3, 1).reshape(v.shape)
    f = torch.roll(f, 1, dims=3)
    return (f + 0.05 * torch.randn(v.shape, generator=g)).clamp(-1, 1)

@pytest.fixture(scope='module')
def pair():
    x = textured_video()
    return x, degraded(x)


# ---------------------------------------------------------------- PSNR / SSIM
def psnr_numpy(a, b):
    return 10 * np.log10(1.0 / np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))

def test_psnr_matches_numpy(pair):
    x, y = pair
    a, b = ((x + 1) / 2).numpy(), ((y + 1) / 2).numpy()
    ref = np.array([[psnr_numpy(a[i, t], b[i, t]) for t in range(x.shape[1])] for i in range(x.shape[0])])
    frames = M.frame_psnr(((x + 1) / 2)[0].permute(0, 3, 1, 2), ((y + 1) / 2)[0].permute(0, 3, 1, 2))
    np.testing.assert_allclose(frames.numpy(), ref[0], atol=1e-3)
    np.testing.assert_allclose(M.video_psnr(x, y).numpy(), ref.mean(1), atol=1e-3)
    np.testing.assert_allclose(M.video_psnr(x, y, chunk=3).numpy(), ref.mean(1), atol=1e-3)   # chunks cross videos
    assert 15 < ref.mean() < 40                                                                 # a realistic regime

def test_psnr_is_mean_of_frames_not_video_psnr(pair):
    x, y = pair
    y = y.clone(); y[:, 0] = x[:, 0] + 0.2 * (y[:, 0] - x[:, 0])                              # one much better frame
    whole = np.array([psnr_numpy((x[i].numpy() + 1) / 2, (y[i].numpy() + 1) / 2) for i in range(2)])
    assert (M.video_psnr(x, y).numpy() > whole + 0.5).all()

def test_psnr_clamps_to_valid_range():
    x = torch.zeros(1, 2, 16, 16, 3)
    y = x.clone(); y[..., 0, 0, 0] = 3.0                                                       # out of range: counts as 1.0
    expected = 10 * math.log10(1 / (0.5 ** 2 / (16 * 16 * 3)))
    assert M.video_psnr(x, y).item() == pytest.approx(expected, abs=1e-3)

def ssim_skimage(a, b):
    return structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                 data_range=1.0, channel_axis=-1)

def test_ssim_matches_skimage(pair):
    x, y = pair
    a, b = ((x + 1) / 2).numpy(), ((y + 1) / 2).numpy()
    ref = np.array([[ssim_skimage(a[i, t], b[i, t]) for t in range(x.shape[1])] for i in range(x.shape[0])])
    frames = M.frame_ssim(torch.from_numpy(a[1]).permute(0, 3, 1, 2), torch.from_numpy(b[1]).permute(0, 3, 1, 2))
    np.testing.assert_allclose(frames.numpy(), ref[1], atol=1e-4)
    np.testing.assert_allclose(M.video_ssim(x, y).numpy(), ref.mean(1), atol=1e-4)
    np.testing.assert_allclose(M.video_ssim(x, y, chunk=4).numpy(), ref.mean(1), atol=1e-4)
    assert 0.3 < ref.mean() < 0.98
    np.testing.assert_allclose(M.video_ssim(x, x).numpy(), 1.0, atol=1e-5)

def test_ssim_on_a_photograph():
    "Real image content: scikit-image's astronaut, panned."
    from skimage import data
    img = torch.from_numpy(data.astronaut()[100:180, 150:250]).float() / 127.5 - 1               # (80, 100, 3)
    x = torch.stack([img[:64, 2 * t:2 * t + 64] for t in range(4)])[None]
    y = torch.stack([img[1:65, 2 * t + 1:2 * t + 65] for t in range(4)])[None]                     # 1 px diagonal shift
    a, b = ((x + 1) / 2).numpy()[0], ((y + 1) / 2).numpy()[0]
    ref = np.mean([ssim_skimage(a[t], b[t]) for t in range(4)])
    assert M.video_ssim(x, y).item() == pytest.approx(ref, abs=1e-4)
    assert M.video_psnr(x, y).item() == pytest.approx(np.mean([psnr_numpy(a[t], b[t]) for t in range(4)]), abs=1e-3)

def test_torchmetrics_ssim_averages_the_padded_border(pair):
    "torchmetrics reflect-pads and averages the whole map: different numbers; its map cropped by 5 px is ours."
    from torchmetrics.functional.image import structural_similarity_index_measure
    x, y = pair
    a, b = ((x[0] + 1) / 2).permute(0, 3, 1, 2).double(), ((y[0] + 1) / 2).permute(0, 3, 1, 2).double()
    tm, tm_map = structural_similarity_index_measure(a, b, data_range=1.0, reduction='none', return_full_image=True)
    ours = M.frame_ssim(a, b)
    torch.testing.assert_close(tm_map[..., 5:-5, 5:-5].mean((1, 2, 3)), ours, atol=1e-10, rtol=0)
    assert (tm - ours).abs().max() > 1e-3

def test_ssim_rejects_small_frames():
    with pytest.raises(ValueError, match='11x11'):
        M.video_ssim(torch.zeros(1, 1, 8, 8, 3), torch.zeros(1, 1, 8, 8, 3))

def test_shape_mismatch_is_an_error(pair):
    x, y = pair
    with pytest.raises(ValueError, match='same shape'):
        M.video_psnr(x, y[:, :3])


# ---------------------------------------------------------------- LPIPS
@pytest.fixture(scope='module')
def lpips_random():
    torch.manual_seed(0)
    return M.lpips_net(random_backbone=True)

def test_lpips_random_backbone_net(lpips_random, pair):
    import lpips
    from pathlib import Path
    net = lpips_random
    assert not net.training and not any(p.requires_grad for p in net.parameters())
    lin = torch.load(Path(lpips.__file__).parent / 'weights/v0.1/vgg.pth', map_location='cpu', weights_only=True)
    for l in range(5):                                                                  # the package's linear weights
        torch.testing.assert_close(net.lins[l].model[-1].weight, lin[f'lin{l}.model.1.weight'], atol=0, rtol=0)
    x, y = (v[:, :3] for v in pair)
    with torch.no_grad():
        per_frame = torch.stack([torch.stack([net(x[i, t].permute(2, 0, 1)[None], y[i, t].permute(2, 0, 1)[None]).flatten()[0]
                                              for t in range(x.shape[1])]).mean() for i in range(x.shape[0])])
    torch.testing.assert_close(M.video_lpips(x, y, net=net), per_frame, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(M.video_lpips(x, y, net=net, chunk=2), per_frame, atol=1e-6, rtol=1e-5)
    assert (per_frame > 0).all()
    assert M.video_lpips(x, x, net=net).abs().max().item() < 1e-6

def test_lpips_loads_backbone_file(tmp_path):
    "The trunk weights land in the right layers: relu5_3 features equal torchvision's VGG16 up to layer 29."
    import torchvision
    torch.manual_seed(1)
    vgg = torchvision.models.vgg16(weights=None).features.eval()
    f = tmp_path / 'vgg16.pth'
    torch.save({f'features.{k}': v for k, v in vgg.state_dict().items()}, f)
    net = M.lpips_net(backbone=f)
    torch.testing.assert_close(getattr(net.net.slice5, '28').weight, vgg[28].weight, atol=0, rtol=0)
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(net.net(x).relu5_3, vgg[:30](x), atol=1e-5, rtol=1e-4)

def test_lpips_missing_weights_message(tmp_path, monkeypatch, pair):
    import torchvision
    monkeypatch.setenv('TORCH_HOME', str(tmp_path))
    monkeypatch.setattr(M, '_LPIPS_NETS', {})
    assert M.VGG16_URL == torchvision.models.VGG16_Weights.IMAGENET1K_V1.url
    expected = tmp_path / 'hub' / 'checkpoints' / 'vgg16-397923af.pth'
    assert M.vgg16_weights_path() == expected
    with pytest.raises(FileNotFoundError) as e:
        M.lpips_net()
    msg = str(e.value)
    assert 'vgg16-397923af.pth' in msg and M.VGG16_URL in msg and str(expected) in msg
    x, y = pair
    with pytest.raises(FileNotFoundError, match='vgg16-397923af'):
        M.video_lpips(x, y)                                                             # the default net, too
    assert not expected.exists()                                                        # nothing was downloaded


# ---------------------------------------------------------------- Frechet distance
def frechet_scipy(a, b):
    mu1, mu2, s1, s2 = a.mean(0), b.mean(0), np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * scipy.linalg.sqrtm(s1 @ s2).real))

def test_frechet_matches_scipy():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(400, 48)) @ rng.normal(size=(48, 48)) * 0.3 + 1.0
    b = rng.normal(size=(500, 48)) @ rng.normal(size=(48, 48)) * 0.35 + 1.2
    ref = frechet_scipy(a, b)
    assert M.frechet_distance(a, b) == pytest.approx(ref, rel=1e-6)
    assert M.frechet_distance(torch.from_numpy(a).float(), torch.from_numpy(b).float()) == pytest.approx(ref, rel=1e-5)
    assert abs(M.frechet_distance(a, a)) < 1e-8 * np.trace(np.cov(a, rowvar=False))
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    assert M.frechet_distance_from_stats(mu1, s1, mu2, s2) == pytest.approx(ref, rel=1e-6)
    # a pure mean shift between identical covariances is the squared distance of the means
    assert M.frechet_distance_from_stats(mu1, s1, mu1 + 0.5, s1) == pytest.approx(0.25 * 48, rel=1e-6)

def test_frechet_rank_deficient():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(20, 64)), rng.normal(size=(30, 64)) + 0.2                  # N < D: singular covariances
    d = M.frechet_distance(a, b)
    assert np.isfinite(d) and d > 0
    assert M.frechet_distance(b, a) == pytest.approx(d, rel=1e-8)
    assert M.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-9 * np.trace(np.cov(a, rowvar=False)))
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    eps = 1e-12 * np.eye(64)                                                              # the ridge limit
    ridge = ((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(s1 + s2 - 2 * scipy.linalg.sqrtm((s1 + eps) @ (s2 + eps)).real)
    assert d == pytest.approx(ridge, rel=1e-5)

def test_feature_stats_stream_and_merge():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(333, 12)) * 3 + 7, rng.normal(size=(250, 12)) + 6
    s1, s2 = M.FeatureStats(12), M.FeatureStats(12)
    for i in range(0, 200, 37): s1.update(a[i:min(i + 37, 200)])
    s2.update(torch.from_numpy(a[200:]))
    merged = s1 + s2
    assert merged.n == 333
    np.testing.assert_allclose(merged.mean.numpy(), a.mean(0), rtol=1e-12)
    np.testing.assert_allclose(merged.cov().numpy(), np.cov(a, rowvar=False), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(merged.cov(ddof=0).numpy(), np.cov(a, rowvar=False, ddof=0), rtol=1e-9, atol=1e-10)
    # all_reduce sums the packed vectors of the ranks
    reduced = M.FeatureStats.from_tensor(s1.to_tensor() + s2.to_tensor(), 12)
    assert reduced.n == 333
    torch.testing.assert_close(reduced.sum_outer, merged.sum_outer)
    fake = M.FeatureStats(12).update(b)
    assert M.fvd(reduced, fake) == pytest.approx(M.frechet_distance(a, b), rel=1e-9)
    assert M.fvd(reduced, fake, ddof=0) == pytest.approx(M.frechet_distance(a, b, ddof=0), rel=1e-9)
    assert M.FeatureStats(12).all_reduce_().n == 0                                     # no process group: no-op
    with pytest.raises(ValueError):
        merged + M.FeatureStats(5)


# ---------------------------------------------------------------- I3D / FVD
@pytest.fixture(scope='module')
def i3d_ref(reference_dir):
    "The compact I3D reference: a recipe for the random weights, batch-norm buffers, a video and its features."
    return torch.load(reference_dir / 'i3d_compact.pt', weights_only=True)

@pytest.fixture(scope='module')
def i3d_net(i3d_ref):
    return M.i3d_from_compact(i3d_ref)

@pytest.fixture(scope='module')
def i3d_file(i3d_net, tmp_path_factory):
    "The rebuilt reference weights as a plain state dict file named like the real one."
    d = tmp_path_factory.mktemp('cache')
    torch.save(i3d_net.state_dict(), d / 'i3d_pretrained_400.pt')
    return d / 'i3d_pretrained_400.pt'

def recipe_weights(ref, shapes):
    "The compact recipe written out independently: {key: mean + std * randn(shape, generator seeded crc32(key) + seed)}."
    out = {}
    for k, shape in shapes.items():
        g = torch.Generator().manual_seed(zlib.crc32(k.encode()) + ref['seed'])
        out[k] = ref['mean'][k] + ref['std'][k] * torch.randn(shape, generator=g)
    return out

def test_i3d_preprocess_matches_reference(i3d_ref):
    pre = M.i3d_preprocess(i3d_ref['video'][:, :1])
    assert pre.shape == (2, 3, 1, 224, 224)
    torch.testing.assert_close(pre, i3d_ref['preprocessed_first'], atol=1e-5, rtol=0)
    torch.testing.assert_close(M.i3d_preprocess(i3d_ref['video'].numpy())[:, :, :1], pre)       # NumPy input

def test_i3d_from_compact_follows_the_recipe(i3d_ref, i3d_net):
    sd = i3d_net.state_dict()
    assert not i3d_net.training and set(sd) == set(i3d_ref['mean']) | set(i3d_ref['buffers'])
    expected = recipe_weights(i3d_ref, {k: sd[k].shape for k in i3d_ref['mean']})
    for k, w in expected.items():
        assert sd[k].dtype == torch.float32 and torch.equal(sd[k], w), k
        assert w.double().sum().item() == pytest.approx(i3d_ref['checksum'][k], rel=1e-9, abs=1e-9), k
    for k, b in i3d_ref['buffers'].items(): assert torch.equal(sd[k], b), k

def test_i3d_features_match_reference(i3d_ref, i3d_net, i3d_file):
    net = M.load_i3d(i3d_file)                                                          # the rebuilt weights, from a file
    assert isinstance(net, M.InceptionI3d) and not net.training
    for k, v in i3d_net.state_dict().items(): assert torch.equal(net.state_dict()[k], v), k
    feats = M.i3d_features(i3d_ref['video'], net, batch_size=1)
    assert feats.shape == (2, 400)
    torch.testing.assert_close(feats, i3d_ref['features'], atol=1e-4, rtol=0)
    assert (feats[0] - feats[1]).abs().max() > 1e-2                                     # the features depend on the video

def test_i3d_from_compact_reads_the_seed(i3d_ref, i3d_net, tmp_path):
    "A compact reference made with another seed rebuilds other weights; a checksum that does not match is refused by name."
    shapes = {k: v.shape for k, v in i3d_net.state_dict().items() if k in i3d_ref['mean']}
    other = dict(i3d_ref, seed=i3d_ref['seed'] + 977)
    w = recipe_weights(other, shapes)
    other['checksum'] = {k: v.double().sum().item() for k, v in w.items()}
    torch.save(other, tmp_path / 'i3d_compact_other.pt')
    net = M.i3d_from_compact(tmp_path / 'i3d_compact_other.pt')                         # from a path
    k = 'Mixed_4f.b1b.conv3d.weight'
    torch.testing.assert_close(net.state_dict()[k], w[k], atol=0, rtol=0)
    assert not torch.allclose(net.state_dict()[k], i3d_net.state_dict()[k])
    with pytest.raises(ValueError, match='checksum'):
        M.i3d_from_compact(dict(other, seed=i3d_ref['seed']))                            # seed and checksums disagree
    with pytest.raises(KeyError, match='Mixed_3b.b0.bn.running_mean'):
        M.i3d_from_compact(dict(i3d_ref, buffers={k: v for k, v in i3d_ref['buffers'].items() if k != 'Mixed_3b.b0.bn.running_mean'}))

def test_load_i3d_casts_float16(i3d_net, tmp_path):
    "A half-precision state dict file loads into float32 parameters."
    torch.save({k: v.half() if v.is_floating_point() else v for k, v in i3d_net.state_dict().items()}, tmp_path / 'i3d_pretrained_400.pt')
    net = M.load_i3d(tmp_path / 'i3d_pretrained_400.pt')
    w = net.Mixed_5c.b3b.conv3d.weight
    assert w.dtype == torch.float32
    torch.testing.assert_close(w, i3d_net.Mixed_5c.b3b.conv3d.weight.half().float(), atol=0, rtol=0)

def test_i3d_averages_logits_over_time(i3d_file):
    "Clips longer than 16 frames leave several time steps after the 2x7x7 pool; the feature is their mean."
    net = M.load_i3d(i3d_file)
    x = torch.randn(2, 1024, 3, 7, 7, generator=torch.Generator().manual_seed(0)).relu()   # a 17..24-frame clip's map
    steps = [net.head(x[:, :, t:t + 2]) for t in range(2)]                              # each window on its own
    assert not torch.allclose(steps[0], steps[1])
    torch.testing.assert_close(net.head(x), (steps[0] + steps[1]) / 2)

def test_i3d_strict_keys(i3d_ref):
    net = M.InceptionI3d()
    assert set(net.state_dict()) == set(i3d_ref['mean']) | set(i3d_ref['buffers'])
    assert set(i3d_ref['mean']) == {k for k, _ in net.named_parameters()} == set(i3d_ref['std']) == set(i3d_ref['checksum'])
    for k, v in i3d_ref['buffers'].items(): assert v.shape == net.state_dict()[k].shape, k

def test_i3d_preprocess_geometry():
    "Short side to 224, long side ceil'ed, centre crop; transposing the frame transposes the result."
    g = torch.Generator().manual_seed(0)
    v = torch.randint(0, 256, (1, 2, 30, 46, 3), dtype=torch.uint8, generator=g)
    p = M.i3d_preprocess(v)
    assert p.shape == (1, 3, 2, 224, 224)
    pt = M.i3d_preprocess(v.transpose(2, 3))
    torch.testing.assert_close(pt, p.transpose(3, 4), atol=1e-6, rtol=0)
    # independent: resize to (224, ceil(46 * 224 / 30) = ceil(343.47) = 344), crop columns 60..284
    x = F.interpolate(v[0].permute(0, 3, 1, 2).float() / 255, size=(224, 344), mode='bilinear', align_corners=False)
    torch.testing.assert_close(p[0].transpose(0, 1), (x[:, :, :, 60:284] - 0.5) * 2, atol=1e-6, rtol=0)
    c = torch.full((1, 1, 20, 20, 3), 51, dtype=torch.uint8)
    torch.testing.assert_close(M.i3d_preprocess(c), torch.full((1, 3, 1, 224, 224), (51 / 255 - 0.5) * 2))
    with pytest.raises(TypeError, match='uint8'):
        M.i3d_preprocess(v.float())

class _FakeScriptI3D(nn.Module):
    "Same call signature as StyleGAN-V's i3d_torchscript.pt; its output depends on every flag."
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(3, 400)
    def forward(self, x: torch.Tensor, rescale: bool = True, resize: bool = True, return_features: bool = False):
        if rescale: x = x * 0.5 + 7.0
        if resize: x = x[:, :, :, ::2, ::2]
        f = self.proj(x.mean((2, 3, 4)))
        return f if return_features else f.softmax(-1)

@pytest.mark.filterwarnings('ignore::FutureWarning')                                   # torch.jit is deprecated
def test_load_i3d_torchscript(tmp_path, i3d_file):
    torch.manual_seed(0)
    m = _FakeScriptI3D()
    path = tmp_path / 'i3d_torchscript.pt'
    torch.jit.save(torch.jit.script(m), str(path))
    assert M.is_torchscript(path) and not M.is_torchscript(i3d_file)
    net = M.load_i3d(path)
    assert isinstance(net, M.TorchScriptI3D)
    v = torch.randint(0, 256, (3, 10, 32, 40, 3), dtype=torch.uint8)
    feats = M.i3d_features(v, net, batch_size=2)
    with torch.no_grad():
        expected = m(M.i3d_preprocess(v), rescale=False, resize=False, return_features=True)
    torch.testing.assert_close(feats, expected, atol=1e-6, rtol=1e-5)

def test_load_i3d_cache_lookup_and_missing(tmp_path, monkeypatch, i3d_file, i3d_net):
    monkeypatch.setenv('COORDTOK_CACHE', str(tmp_path))
    assert M.cache_dir() == tmp_path
    with pytest.raises(FileNotFoundError) as e:
        M.load_i3d()
    msg = str(e.value)
    assert str(tmp_path) in msg and 'i3d_pretrained_400.pt' in msg and 'i3d_torchscript.pt' in msg
    assert '1fBNl3TS0LA5FEhZv5nMGJs2_7qQmvTmh' in msg and 'ge9e5ujwgetktms' in msg and 'COORDTOK_CACHE' in msg
    (tmp_path / 'i3d_pretrained_400.pt').write_bytes(i3d_file.read_bytes())
    net = M.load_i3d()                                                                  # found through $COORDTOK_CACHE
    torch.testing.assert_close(net.logits.conv3d.weight, i3d_net.logits.conv3d.weight, atol=0, rtol=0)
    other = tmp_path / 'elsewhere'; other.mkdir()
    assert M.cache_dir(other) == other                                                  # the argument wins
    with pytest.raises(FileNotFoundError, match='elsewhere'):
        M.load_i3d('i3d_pretrained_400.pt', cache=other)

def test_split_clips_and_uint8():
    v = torch.arange(2 * 35).view(2, 35, 1, 1, 1).expand(2, 35, 4, 4, 3)
    c = M.split_clips(v, 16)
    assert c.shape == (4, 16, 4, 4, 3)
    torch.testing.assert_close(c[1], v[0, 16:32]); torch.testing.assert_close(c[2], v[1, :16])
    u = torch.randint(0, 256, (1, 2, 4, 4, 3), dtype=torch.uint8)
    torch.testing.assert_close(M.video_to_uint8(u.float() / 255 * 2 - 1), u, atol=0, rtol=0)


# ---------------------------------------------------------------- dynamics / frequency
def test_dynamics_matches_numpy(pair):
    x, _ = pair
    v = ((x + 1) / 2 * 255).numpy().astype(np.float64)
    ref = [np.log(np.mean([np.sqrt(((v[i, t + 1] - v[i, t]) ** 2).sum(-1)).mean() for t in range(v.shape[1] - 1)]))
           for i in range(v.shape[0])]
    np.testing.assert_allclose(M.dynamics_magnitude(x).numpy(), ref, atol=1e-4)
    # uniform colour steps: each pair differs by the same RGB vector
    steps = torch.tensor([0.0, 0.1, 0.3]).view(1, 3, 1, 1, 1).expand(1, 3, 8, 8, 3) - 0.5
    d = np.mean([0.1, 0.2]) / 2 * 255 * np.sqrt(3)
    assert M.dynamics_magnitude(steps).item() == pytest.approx(np.log(d), abs=1e-5)
    assert M.dynamics_magnitude(x[:, :1].expand_as(x)).isneginf().all()                # a still video

def test_frequency_matches_scipy(pair):
    x, y = pair
    for v in (x, y):
        luma = (((v + 1) / 2 * 255).numpy().astype(np.float64) @ np.array([0.299, 0.587, 0.114]))
        ref = [np.mean([np.hypot(scipy.ndimage.sobel(f, 0, mode='mirror'), scipy.ndimage.sobel(f, 1, mode='mirror')).mean()
                        for f in vid]) for vid in luma]
        np.testing.assert_allclose(M.frequency_magnitude(v).numpy(), ref, rtol=1e-4)
    ramp = torch.linspace(-1, 1, 32).view(1, 1, 1, 32, 1).expand(1, 2, 16, 32, 3)         # horizontal ramp
    slope = 2 / 31 / 2 * 255                                                          # luma per pixel in [0, 255]
    interior = M.frequency_magnitude(ramp[:, :, :, :]).item()
    assert interior == pytest.approx(8 * slope * 30 / 32, rel=1e-4)                   # reflected border columns give 0
    assert M.frequency_magnitude(torch.zeros(1, 2, 16, 16, 3)).item() == 0

def test_standardize_and_pearson():
    rng = np.random.default_rng(3)
    a = rng.normal(size=40); b = a + rng.normal(size=40)
    assert M.pearson_r(a, b) == pytest.approx(scipy.stats.pearsonr(a, b)[0], abs=1e-12)
    assert M.pearson_r(torch.from_numpy(a), torch.from_numpy(-2 * a + 1)) == pytest.approx(-1.0, abs=1e-12)
    s = M.standardize_0_100(torch.tensor([3.0, 1.0, 2.0, 5.0]))
    torch.testing.assert_close(s, torch.tensor([50.0, 0.0, 25.0, 100.0], dtype=torch.float64))


# ---------------------------------------------------------------- evaluating a tokenizer
class _PooledFeatures(nn.Module):
    "A cheap stand-in for I3D with the same call: (B, 3, T, 224, 224) -> (B, 6) pooled colour statistics."
    def forward(self, x):
        return torch.cat([x.mean((2, 3, 4)), x.std((2, 3, 4))], 1)

class _L1Net(nn.Module):
    "A cheap stand-in for the LPIPS module with the same call: (N, 3, H, W) x 2 -> (N, 1, 1, 1)."
    def forward(self, a, b):
        return (a - b).abs().mean((1, 2, 3)).view(-1, 1, 1, 1)

class _NoisyModel(nn.Module):
    "`reconstruct` returns the video plus deterministic noise (and records its calls)."
    def __init__(self):
        super().__init__(); self.w = nn.Parameter(torch.zeros(())); self.calls = []
    def reconstruct(self, video, n_frames=None, chunk=None):
        self.calls.append((tuple(video.shape), chunk))
        g = torch.Generator().manual_seed(len(self.calls))
        return (video + 0.1 * torch.randn(video.shape, generator=g)).clamp(-1, 1)

def test_evaluate_reconstruction_streams_exactly():
    vids = textured_video(B=4, T=16, H=16, W=16)                                         # 4 videos of 16 frames
    model = _NoisyModel()
    batches = [(vids[:2], torch.full((2,), 16)), (vids[2:3], torch.full((1,), 16)), (vids[3:], torch.full((1,), 16))]
    m = M.ReconstructionMetrics(i3d=_PooledFeatures(), lpips=_L1Net(), clip_lengths=(None, 8), i3d_batch=3)
    res = M.evaluate_reconstruction(model, batches, m, chunk=7)
    assert model.calls == [((2, 16, 16, 16, 3), 7), ((1, 16, 16, 16, 3), 7), ((1, 16, 16, 16, 3), 7)]
    recs = torch.cat([(b[0] + 0.1 * torch.randn(b[0].shape, generator=torch.Generator().manual_seed(i + 1))).clamp(-1, 1)
                      for i, b in enumerate(batches)])                                  # what the model returned
    assert res['n_videos'] == 4
    assert res['psnr'] == pytest.approx(M.video_psnr(vids, recs).mean().item(), abs=1e-4)
    assert res['ssim'] == pytest.approx(M.video_ssim(vids, recs).mean().item(), abs=1e-5)
    assert res['lpips'] == pytest.approx((vids - recs).abs().mean().item(), abs=1e-6)
    f = _PooledFeatures()
    fr, ff = M.i3d_preprocess(M.video_to_uint8(vids)), M.i3d_preprocess(M.video_to_uint8(recs))
    assert res['rfvd'] == pytest.approx(M.frechet_distance(f(fr), f(ff)), rel=1e-5)
    sub = lambda v: M.i3d_preprocess(M.split_clips(M.video_to_uint8(v), 8))             # 8 sub-clips per set
    assert res['rfvd_8'] == pytest.approx(M.frechet_distance(f(sub(vids)), f(sub(recs))), rel=1e-5)
    assert m.stats['rfvd_8'][0].n == 8
    assert res['rfvd'] > 0 and res['rfvd_8'] > 0

def test_evaluate_reconstruction_limits_and_padding():
    vids = textured_video(B=3, T=16, H=16, W=16)
    m = M.ReconstructionMetrics()
    model = _NoisyModel()
    res = M.evaluate_reconstruction(model, [vids, vids, vids], m, max_videos=4)
    assert res['n_videos'] == 4 and set(res) == {'n_videos', 'psnr', 'ssim'}
    assert [c[0][0] for c in model.calls] == [3, 1]                                    # the third batch is never drawn
    with pytest.raises(ValueError, match='no videos'):
        M.ReconstructionMetrics().compute()
    with pytest.raises(ValueError, match='complete clips'):
        M.evaluate_reconstruction(_NoisyModel(), [(vids, torch.tensor([16, 10, 16]))], M.ReconstructionMetrics())

def test_all_reduce_with_a_process_group(tmp_path):
    "Under an initialised (single-rank gloo) group the packed statistics survive the round trip unchanged."
    import torch.distributed as dist
    dist.init_process_group('gloo', init_method=f'file://{tmp_path / "pg"}', rank=0, world_size=1)
    try:
        rng = np.random.default_rng(4)
        s = M.FeatureStats(5).update(rng.normal(size=(9, 5)))
        before = s.to_tensor().clone()
        torch.testing.assert_close(s.all_reduce_().to_tensor(), before, atol=0, rtol=0)
        m = M.ReconstructionMetrics(i3d=_PooledFeatures(), clip_lengths=(None,))
        v = textured_video(B=2, T=4, H=16, W=16)
        m.update(v, degraded(v))
        expected = m.compute()
        assert m.all_reduce_().compute() == pytest.approx(expected, rel=1e-12)
    finally:
        dist.destroy_process_group()
