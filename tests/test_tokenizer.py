import torch
import pytest
from coordtok.config import preset, CoordTokConfig
from coordtok.tokenizer import CoordTok
from coordtok.convert import coordtok_from_official, config_from_official
from coordtok.patches import grid_coords


def _ref(reference_dir):
    return torch.load(reference_dir / 'official_coordtok_tiny.pt', weights_only=True)


def test_reference_encode_decode_loss(reference_dir):
    ref = _ref(reference_dir)
    model = coordtok_from_official(ref['state_dict'], ref['config'])
    assert not model.training
    with torch.no_grad():
        planes = model.encode(ref['video'], ref['n_frames'])
        for ours, theirs in zip(planes, ref['planes']):
            torch.testing.assert_close(ours, theirs.permute(0, 3, 1, 2), atol=1e-5, rtol=0)
        coords = ref['coords'].clone()
        pred = model.decode(planes, coords)
        torch.testing.assert_close(pred, ref['patches_pred'], atol=1e-4, rtol=0)
        assert torch.equal(coords, ref['coords'])  # decode never writes into its inputs
        idx = ref['loss_idx']
        loss = model.loss(ref['video'], ref['coords'][:, idx], ref['target_patches'][:, idx], ref['n_frames'])
        torch.testing.assert_close(loss, ref['loss'], atol=1e-5, rtol=0)


def test_reference_targets_are_our_patches(reference_dir):
    "Their target patches are our patchify of the video at their coordinates (same (t, x, y) and pixel order)."
    from coordtok.patches import patchify
    ref = _ref(reference_dir)
    cfg = config_from_official(ref['config'])
    torch.testing.assert_close(ref['coords'][0], grid_coords(cfg.dec_grid), atol=1e-6, rtol=0)
    torch.testing.assert_close(patchify(ref['video'], cfg.dec_patch), ref['target_patches'], atol=0, rtol=0)


@pytest.mark.parametrize('drop', ['decoder.projector.bias', 'weight_tokens_yt', 'encoder.transformer.layers.1.cross_attn.in_proj_weight'])
def test_convert_refuses_missing_keys(reference_dir, drop):
    ref = _ref(reference_dir)
    sd = {k: v for k, v in ref['state_dict'].items() if k != drop}
    with pytest.raises(KeyError, match='missing keys'):
        coordtok_from_official(sd, ref['config'])


def test_convert_refuses_unexpected_keys(reference_dir):
    ref = _ref(reference_dir)
    sd = dict(ref['state_dict'], **{'decoder.lpips_loss.lin0.model.1.weight': torch.zeros(1)})
    with pytest.raises(KeyError, match=r'decoder\.lpips_loss\.lin0\.model\.1\.weight'):
        coordtok_from_official(sd, ref['config'])           # no LPIPS in this model's kwargs: not silently dropped
    model = coordtok_from_official(sd, dict(ref['config'], lpips_loss_scale=1.0))  # their stage-2 checkpoints carry it
    assert not any('lpips' in k for k in model.state_dict())


def test_convert_refuses_wrong_shapes(reference_dir):
    ref = _ref(reference_dir)
    with pytest.raises(ValueError, match='expects'):
        coordtok_from_official(ref['state_dict'], dict(ref['config'], latent_n_features=8))


@pytest.mark.parametrize('padding', ['block'])
@pytest.mark.parametrize('n', [1, 5, 8, 13])
def test_padded_frames_cannot_change_the_triplane(padding, n):
    torch.manual_seed(n)
    cfg = preset('tiny', padding=padding)
    model = CoordTok(cfg).eval()
    video = torch.rand(3, cfg.frames, cfg.height, cfg.width, 3) * 2 - 1
    other = video.clone()
    other[:, n:] = torch.randn_like(other[:, n:]) * 10                    # any padding content
    nf = torch.tensor([n, n, cfg.frames])
    other[2] = video[2]
    with torch.no_grad():
        a, b = model.encode(video, nf), model.encode(other, nf)
        zero = video.clone(); zero[:2, n:] = 0
        c = model.encode(zero, nf)
    for pa, pb, pc in zip(a, b, c):
        torch.testing.assert_close(pa, pb, atol=1e-5, rtol=0)
        torch.testing.assert_close(pa, pc, atol=1e-5, rtol=0)
    # and the valid frames do matter
    changed = video.clone(); changed[:, 0] *= -1                       # (stays in [-1, 1], the contract)
    with torch.no_grad(): d = model.encode(changed, nf)
    assert max((pa - pd).abs().max().item() for pa, pd in zip(a, d)) > 1e-3


def test_official_padding_lets_padding_through():
    torch.manual_seed(0)
    cfg = preset('tiny', padding='official')
    model = CoordTok(cfg).eval()
    video = torch.rand(1, cfg.frames, cfg.height, cfg.width, 3)
    other = video.clone(); other[:, 9:] = 5.0
    with torch.no_grad():
        diff = max((a - b).abs().max().item() for a, b in zip(model.encode(video, [9]), model.encode(other, [9])))
    assert diff > 1e-3


def test_bad_n_frames():
    cfg = preset('tiny')
    model = CoordTok(cfg).eval()
    video = torch.zeros(2, cfg.frames, cfg.height, cfg.width, 3)
    with pytest.raises(ValueError, match='n_frames must lie in 1..16'):
        model.encode(video, torch.tensor([0, 16]))
    with pytest.raises(ValueError, match='2 videos'):
        model.encode(video, torch.tensor([3, 4, 5]))
    model.encode(video, torch.tensor([[3], [16]]))          # (B, 1) is accepted


def test_chunked_reconstruction_equals_one_pass_per_chunk():
    "Chunked decoding is exactly decoding each group of consecutive patches on its own."
    torch.manual_seed(0)
    cfg = preset('tiny')
    model = CoordTok(cfg).eval()
    video = torch.rand(2, cfg.frames, cfg.height, cfg.width, 3) * 2 - 1
    with torch.no_grad():
        planes = model.encode(video)
        coords = grid_coords(cfg.dec_grid).expand(2, -1, -1)
        for chunk in (256, 300):
            rec = model.decode_video(planes, chunk=chunk)
            ref = torch.cat([model.decode(planes, c) for c in coords.split(chunk, 1)], 1)
            from coordtok.patches import unpatchify
            torch.testing.assert_close(rec, unpatchify(ref, cfg.dec_grid, cfg.dec_patch), atol=1e-5, rtol=0)
        assert not torch.allclose(model.decode_video(planes, chunk=64), model.decode_video(planes), atol=1e-4)


def test_large_preset_parameter_count():
    from coordtok.tokenizer import param_counts
    p = param_counts(preset('coordtok-L'))
    assert round(p['total'] / 1e5) == 8534
    assert round((p['encoder'] + p['cross-self encoder']) / 1e6) == 517
    assert round(p['decoder'] / 1e6) == 336
