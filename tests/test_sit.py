"SiT over a triplane: the authors' outputs, strict loading, presets, shapes and the output layout."
import pytest
import torch
from coordtok.sit import (SiT, SiTConfig, SIT_PRESETS, sit_preset, sit_from_state_dict, sincos_2d, unpatchify,
                          LabelEmbedder)

@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads(); torch.set_num_threads(1)  # tiny tensors; extra threads only spin on a shared CPU
    yield
    torch.set_num_threads(n)

def _ref(reference_dir): return torch.load(reference_dir / 'official_sit_tiny.pt', weights_only=True)

def test_reference_forward(reference_dir):
    ref = _ref(reference_dir)
    model = sit_from_state_dict(ref['state_dict'], ref['config'])
    assert not model.training
    assert set(model.state_dict()) == set(ref['state_dict'])
    with torch.no_grad(): out = model(ref['x'], ref['t'], ref['y'])
    assert isinstance(out, tuple) and len(out) == 3
    for o, r in zip(out, ref['out']):
        assert o.shape == r.shape
        assert (o - r).abs().max() < 1e-5
    # the xy positions are loaded, not recomputed: the reference perturbed them
    assert torch.equal(model.pos_embed_xy, ref['state_dict']['pos_embed_xy'])
    assert (model.pos_embed_xy[0] - sincos_2d(64, 4, 4)).abs().max() > 1e-3

def test_reference_sincos_layout(reference_dir):
    # the perturbation is small (< 0.1); a transposed or reordered table would differ by up to 2
    pe = _ref(reference_dir)['state_dict']['pos_embed_xy'][0]
    assert (pe - sincos_2d(64, 4, 4)).abs().max() < 0.1
    assert (pe - sincos_2d(64, 4, 4).view(4, 4, 64).transpose(0, 1).reshape(16, 64)).abs().max() > 0.5

@pytest.mark.parametrize('drop', ['pos_embed_xy', 'blocks.1.mlp.fc2.bias', 'final_layer_xt.linear.weight'])
def test_missing_key_is_named(reference_dir, drop):
    ref = _ref(reference_dir)
    sd = dict(ref['state_dict']); sd.pop(drop)
    with pytest.raises(KeyError, match=drop.replace('.', r'\.')): sit_from_state_dict(sd, ref['config'])

def test_unexpected_key_is_named(reference_dir):
    ref = _ref(reference_dir)
    sd = {**ref['state_dict'], 'blocks.2.attn.qkv.weight': torch.zeros(3)}
    with pytest.raises(KeyError, match=r'blocks\.2\.attn\.qkv\.weight'): sit_from_state_dict(sd, ref['config'])
    with pytest.raises(KeyError, match=r"checkpoint\['ema'\]"): sit_from_state_dict({'ema': sd, 'args': None}, ref['config'])

def test_shape_mismatch_and_unknown_argument_are_named(reference_dir):
    ref = _ref(reference_dir)
    with pytest.raises(ValueError, match='x_embedder_xy.proj.weight'):
        sit_from_state_dict(ref['state_dict'], {**ref['config'], 'in_channels': 3})
    with pytest.raises(ValueError, match='hidden_sz'): sit_from_state_dict(ref['state_dict'], {**ref['config'], 'hidden_sz': 3})

def test_from_official_defaults_and_roundtrip():
    cfg = SiTConfig.from_official({})   # the authors' constructor defaults: SiT-XL/2, 1000 classes, learn_sigma
    assert (cfg.depth, cfg.dim, cfg.heads, cfg.patch, cfg.num_classes, cfg.class_dropout, cfg.learn_sigma) == \
           (28, 1152, 16, 2, 1000, 0.1, True)
    assert (cfg.latent_t, cfg.latent_xy) == (32, 16)
    for c in SIT_PRESETS.values(): assert SiTConfig.from_official(c.to_official()) == c

def test_presets():
    sizes = {'S': (12, 384, 6), 'B': (12, 768, 12), 'L': (24, 1024, 16), 'XL': (28, 1152, 16)}
    for s, (d, w, h) in sizes.items():
        for suffix, tokens in (('', 320), ('-3072', 768)):
            c = sit_preset(f'SiT-{s}/2{suffix}')
            assert (c.depth, c.dim, c.heads, c.patch, c.n_tokens) == (d, w, h, 2, tokens)
            assert (c.num_classes, c.class_dropout, c.channels) == (1, 0.0, 8)
    assert sit_preset('SiT-L/2').plane_shapes == ((16, 16), (32, 16), (32, 16))
    assert sit_preset('SiT-L/2-3072').plane_shapes == ((32, 32), (32, 32), (32, 32))
    with pytest.raises(KeyError, match='SiT-L/4'): sit_preset('SiT-L/4')
    with pytest.raises(ValueError, match='latent_t=33'): SiTConfig(latent_t=33)
    with pytest.raises(ValueError, match='heads'): SiTConfig(dim=100, heads=16)

def test_paper_size_on_meta_device():
    with torch.device('meta'):
        model = SiT(sit_preset('SiT-L/2'))
        x = (torch.empty(2, 8, 16, 16), torch.empty(2, 8, 32, 16), torch.empty(2, 8, 32, 16))
        assert model.embed(x).shape == (2, 320, 1024)
    n = sum(p.numel() for p in model.parameters())
    assert 455e6 < n < 470e6, n

@pytest.mark.parametrize('latent_xy,latent_t,tokens', [(16, 32, 320), (32, 32, 768)])
def test_shapes_1280_and_3072_token_triplanes(latent_xy, latent_t, tokens):
    cfg = SiTConfig(latent_xy=latent_xy, latent_t=latent_t, channels=8, dim=32, depth=1, heads=2)
    model = SiT(cfg).eval()
    for p in model.parameters(): torch.nn.init.normal_(p, std=0.05)
    x = (torch.randn(2, 8, latent_xy, latent_xy), torch.randn(2, 8, latent_t, latent_xy), torch.randn(2, 8, latent_t, latent_xy))
    assert model.embed(x).shape == (2, tokens, 32)
    with torch.no_grad(): out = model(x, torch.rand(2))
    assert [o.shape for o in out] == [p.shape for p in x]
    assert all(o.abs().sum() > 0 for o in out)
    with torch.no_grad(): scalar = model(x, 0.3)  # a scalar time is broadcast
    with torch.no_grad(): vec = model(x, torch.full((2,), 0.3))
    for a, b in zip(scalar, vec): assert torch.equal(a, b)

def test_fresh_model_is_zero_and_blocks_are_identity():
    model = SiT(sit_preset('tiny')).eval()
    for blk in model.blocks:
        assert blk.adaLN_modulation[1].weight.abs().sum() == 0 and blk.adaLN_modulation[1].bias.abs().sum() == 0
    x = tuple(torch.randn(1, 4, 8, 8) for _ in range(3))
    with torch.no_grad(): out = model(x, torch.rand(1))
    assert all(o.abs().sum() == 0 for o in out)
    assert model.type_embed.abs().sum() > 0 and model.pos_embed_t.abs().sum() == 0
    assert not model.pos_embed_xy.requires_grad and 'pos_embed_xy' in model.state_dict()

def test_learn_sigma_keeps_first_half_in_pqc_order():
    cfg = sit_preset('tiny', learn_sigma=True)
    model = SiT(cfg).eval()
    C, p = cfg.channels, cfg.patch
    with torch.no_grad():
        for fl in (model.final_layer_xy, model.final_layer_yt, model.final_layer_xt):
            fl.linear.bias.copy_(torch.arange(2 * C).repeat(p * p).float())   # value = channel index, in (p, q, c) order
    x = tuple(torch.randn(1, C, 8, 8) for _ in range(3))
    with torch.no_grad(): out = model(x, torch.rand(1))
    for o in out:
        assert o.shape == (1, C, 8, 8)
        assert torch.equal(o, torch.arange(C).float().view(1, C, 1, 1).expand_as(o))

def test_unpatchify_layout():
    tok = torch.arange(2 * 3 * 2 * 2 * 5).float().view(1, 2 * 3, 2 * 2 * 5)      # (B, h*w, p*q*c)
    plane = unpatchify(tok, (2, 3), 2)
    assert plane.shape == (1, 5, 4, 6)
    # token (i=1, j=2), sub-position (a=1, b=0), channel 3 -> cell (3, 4)
    assert plane[0, 3, 1 * 2 + 1, 2 * 2 + 0] == tok[0, 1 * 3 + 2, (1 * 2 + 0) * 5 + 3]

def test_class_conditional():
    cfg = sit_preset('tiny', num_classes=3, class_dropout=0.1)
    assert cfg.null_class == 3 and sit_preset('tiny').null_class is None
    model = SiT(cfg).eval()
    assert model.y_embedder.embedding_table.num_embeddings == 4
    x = tuple(torch.randn(2, 4, 8, 8) for _ in range(3))
    with pytest.raises(ValueError, match='labels'): model(x, torch.rand(2))
    le = LabelEmbedder(3, 8, 0.1)
    y = torch.tensor([0, 2])
    assert torch.equal(le(y, force_drop=torch.tensor([True, False])), le.embedding_table.weight[[3, 2]])
    assert torch.equal(le(y, train=False), le.embedding_table.weight[[0, 2]])
    torch.manual_seed(0)
    dropped = (le(torch.zeros(4000, dtype=torch.long), train=True) == le.embedding_table.weight[3]).all(1).float().mean()
    assert 0.07 < dropped < 0.13
