"Saved models in the field's format: config.json + model.safetensors, bit-identical round trips, hub ids offline, bad folders."
import json, os, time
import pytest
import torch
from coordtok.config import preset
from coordtok.tokenizer import CoordTok
from coordtok.sit import SiT, sit_preset
from coordtok.convert import coordtok_from_official, sit_from_official

@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads(); torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)

def test_coordtok_round_trip_from_the_reference_is_bit_identical(reference_dir, tmp_path):
    ref = torch.load(reference_dir / 'official_coordtok_tiny.pt', weights_only=True)
    model = coordtok_from_official(ref['state_dict'], ref['config'])
    model.save_pretrained(tmp_path / 'tok')
    assert sorted(os.listdir(tmp_path / 'tok')) == ['config.json', 'model.safetensors']
    back = CoordTok.from_pretrained(tmp_path / 'tok')
    assert back.cfg == model.cfg and not back.training
    assert isinstance(back.cfg.enc_patch, tuple) and isinstance(back.cfg.dec_patch, tuple)
    with torch.no_grad():
        a, b = model.encode(ref['video'], ref['n_frames']), back.encode(ref['video'], ref['n_frames'])
        for x, y in zip(a, b): assert torch.equal(x, y)
        assert torch.equal(model.decode(a, ref['coords']), back.decode(b, ref['coords']))
    cfg = json.loads((tmp_path / 'tok' / 'config.json').read_text())
    assert cfg['_format'] == 'coordtok-pretrained-1' and cfg['_class_name'] == 'CoordTok' and cfg['padding'] == 'official'

def test_sit_round_trip_from_the_reference_is_bit_identical_and_keeps_the_stats(reference_dir, tmp_path):
    ref = torch.load(reference_dir / 'official_sit_tiny.pt', weights_only=True)
    model = sit_from_official(ref['state_dict'], ref['config'])
    C = model.cfg.channels
    stats = dict(mean=torch.randn(3, C, dtype=torch.float64), std=torch.rand(3, C, dtype=torch.float64) + 0.1, n_clips=2048)
    model.save_pretrained(tmp_path / 'sit', stats)
    assert sorted(os.listdir(tmp_path / 'sit')) == ['config.json', 'model.safetensors']
    back = SiT.from_pretrained(tmp_path / 'sit')
    with torch.no_grad():
        for x, y in zip(model(ref['x'], ref['t'], ref['y']), back(ref['x'], ref['t'], ref['y'])): assert torch.equal(x, y)
    assert torch.equal(back.pos_embed_xy, ref['state_dict']['pos_embed_xy'])      # the (perturbed) buffer is saved
    assert torch.equal(back.latent_stats['mean'], stats['mean']) and torch.equal(back.latent_stats['std'], stats['std'])
    assert back.latent_stats['n_clips'] == 2048
    # the stats travel with the model: saving the loaded one again needs no stats argument
    back.save_pretrained(tmp_path / 'again')
    assert torch.equal(SiT.from_pretrained(tmp_path / 'again').latent_stats['std'], stats['std'])

def test_load_sit_reads_a_saved_model_with_its_stats(tmp_path):
    from coordtok.generate import load_sit, LatentStats
    sit = SiT(sit_preset('tiny'))
    sit.save_pretrained(tmp_path / 'sit', LatentStats(torch.zeros(3, 4, dtype=torch.float64), torch.ones(3, 4, dtype=torch.float64), 7))
    model, stats = load_sit(tmp_path / 'sit')
    assert stats.n_clips == 7 and torch.equal(stats.std, torch.ones(3, 4, dtype=torch.float64))
    SiT(sit_preset('tiny')).save_pretrained(tmp_path / 'nostats')
    with pytest.raises(ValueError, match='without latent statistics'): load_sit(tmp_path / 'nostats')

def test_bfloat16_is_stored_small_and_loaded_as_float32(tmp_path):
    torch.manual_seed(0)
    model = CoordTok(preset('tiny')).eval()
    model.save_pretrained(tmp_path / 'f32'); model.save_pretrained(tmp_path / 'bf16', dtype=torch.bfloat16)
    size = lambda d: (tmp_path / d / 'model.safetensors').stat().st_size
    assert size('bf16') < 0.55 * size('f32')
    assert json.loads((tmp_path / 'bf16' / 'config.json').read_text())['torch_dtype'] == 'bfloat16'
    back = CoordTok.from_pretrained(tmp_path / 'bf16')
    assert all(p.dtype == torch.float32 for p in back.parameters())
    for (k, p), q in zip(model.state_dict().items(), back.state_dict().values()): assert torch.equal(p.bfloat16().float(), q), k
    assert next(CoordTok.from_pretrained(tmp_path / 'bf16', dtype=None).parameters()).dtype == torch.bfloat16

def test_load_tokenizer_takes_a_checkpoint_or_a_folder(tmp_path):
    from coordtok.runtime import save_checkpoint, CKPT_FORMAT
    from coordtok.train import load_tokenizer
    from dataclasses import asdict
    torch.manual_seed(0)
    model = CoordTok(preset('tiny')).eval()
    save_checkpoint({'format': CKPT_FORMAT, 'config': {'model': asdict(model.cfg)}, 'model': model.state_dict()}, tmp_path / 'last.pt')
    model.save_pretrained(tmp_path / 'saved')
    a, b = load_tokenizer(tmp_path / 'last.pt'), load_tokenizer(tmp_path / 'saved')
    for p, q in zip(a.state_dict().values(), b.state_dict().values()): assert torch.equal(p, q)

def test_unknown_config_keys_other_classes_and_missing_files_are_errors(tmp_path):
    CoordTok(preset('tiny')).save_pretrained(tmp_path / 'tok')
    cfg = json.loads((tmp_path / 'tok' / 'config.json').read_text())
    (tmp_path / 'tok' / 'config.json').write_text(json.dumps({**cfg, 'rope_theta': 1e4}))
    with pytest.raises(ValueError, match=r"does not know: \['rope_theta'\]"): CoordTok.from_pretrained(tmp_path / 'tok')
    (tmp_path / 'tok' / 'config.json').write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match='holds a CoordTok, not a SiT'): SiT.from_pretrained(tmp_path / 'tok')
    (tmp_path / 'tok' / 'model.safetensors').unlink()
    with pytest.raises(FileNotFoundError, match='model.safetensors missing'): CoordTok.from_pretrained(tmp_path / 'tok')
    (tmp_path / 'x.pt').write_bytes(b'0')
    with pytest.raises(ValueError, match='load_tokenizer'): CoordTok.from_pretrained(tmp_path / 'x.pt')
    with pytest.raises(FileNotFoundError, match='no saved-model folder'): CoordTok.from_pretrained(tmp_path / 'nope' / 'deeper' / 'dir')

def test_a_hub_id_offline_fails_at_once_saying_what_to_download(monkeypatch, tmp_path):
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    monkeypatch.setenv('HF_HOME', str(tmp_path / 'hf'))
    monkeypatch.chdir(tmp_path)
    t0 = time.time()
    with pytest.raises(FileNotFoundError) as e: CoordTok.from_pretrained('someone/coordtok-ucf101')
    assert time.time() - t0 < 5
    msg = str(e.value)
    for s in ('someone/coordtok-ucf101', 'HF_HUB_OFFLINE', 'config.json', 'model.safetensors', 'https://huggingface.co/someone/coordtok-ucf101',
              "from_pretrained('DIR')"): assert s in msg, s

def _fake_official(reference_dir, tmp_path):
    "Stand-ins for the released files, in the authors' layout, built from the tiny references' weights."
    import argparse
    ref = torch.load(reference_dir / 'official_coordtok_tiny.pt', weights_only=True)
    sref = torch.load(reference_dir / 'official_sit_tiny.pt', weights_only=True)
    torch.save({'model': ref['state_dict'], 'epoch': 3}, tmp_path / 'CoordTok_tiny.pth')
    torch.save({'model': {k: torch.zeros_like(v) for k, v in sref['state_dict'].items()}, 'ema': sref['state_dict'], 'opt': {},
                'args': argparse.Namespace(model='SiT-L/2', lr=1e-4)}, tmp_path / 'SiT_tiny.pt')
    return ref, sref

def test_convert_official_writes_saved_models(reference_dir, tmp_path, monkeypatch):
    import coordtok.convert as conv
    from coordtok.cli import main
    ref, sref = _fake_official(reference_dir, tmp_path)
    # the test hook: the tiny references' constructor arguments in place of the built-in UCF-101 ones
    monkeypatch.setitem(conv.OFFICIAL_UCF101, 'tokenizer', ref['config'])
    monkeypatch.setitem(conv.OFFICIAL_UCF101, 'sit', sref['config'])
    main(['convert-official', str(tmp_path / 'CoordTok_tiny.pth'), str(tmp_path / 'tok')])
    main(['convert-official', str(tmp_path / 'SiT_tiny.pt'), str(tmp_path / 'sit')])
    for d in ('tok', 'sit'): assert sorted(os.listdir(tmp_path / d)) == ['config.json', 'model.safetensors']
    tok, sit = CoordTok.from_pretrained(tmp_path / 'tok'), SiT.from_pretrained(tmp_path / 'sit')
    with torch.no_grad():
        assert (tok.decode(tok.encode(ref['video'], ref['n_frames']), ref['coords']) - ref['patches_pred']).abs().max() < 1e-4
        for o, r in zip(sit(sref['x'], sref['t'], sref['y']), sref['out']): assert (o - r).abs().max() < 1e-5   # the EMA weights
    assert sit.latent_stats is None

def test_convert_official_builds_the_ucf101_models(reference_dir, tmp_path):
    from coordtok.convert import OFFICIAL_UCF101, config_from_official
    from coordtok.sit import SiTConfig
    assert config_from_official(OFFICIAL_UCF101['tokenizer']) == preset('coordtok-L', padding='official')
    s = SiTConfig.from_official(OFFICIAL_UCF101['sit'])
    assert s == sit_preset('SiT-L/2') and s.n_tokens == 320 and s.learn_sigma and s.num_classes == 1
    from coordtok.convert import convert_official_checkpoint
    _fake_official(reference_dir, tmp_path)
    with pytest.raises(KeyError, match='missing keys'): convert_official_checkpoint(tmp_path / 'CoordTok_tiny.pth', tmp_path / 'x')
    torch.save({'foo': torch.zeros(1)}, tmp_path / 'other.pt')
    with pytest.raises(ValueError, match="not an authors' CoordTok or SiT checkpoint"): convert_official_checkpoint(tmp_path / 'other.pt', tmp_path / 'y')
