"The trained `small` model that ships with the package: its size, how it loads, and that it reconstructs unseen videos."
from pathlib import Path
import torch
import coordtok
from coordtok.config import preset
from coordtok.data import SyntheticVideos, collate
from coordtok.metrics import video_psnr, baseline_psnr
from coordtok.train import shipped_model

def test_the_shipped_model_is_small_and_loads_at_the_top_level():
    d = shipped_model('small')
    assert sorted(p.name for p in d.iterdir() if not p.name.startswith('.')) == ['config.json', 'model.safetensors']
    assert sum(p.stat().st_size for p in d.iterdir()) <= 10e6                       # at most 10 MB, as promised
    model = coordtok.load_tokenizer()                                               # None: the shipped model
    assert model.cfg == preset('small') and not model.training
    assert all(p.dtype == torch.float32 for p in model.parameters())                # stored fp16, loaded as fp32

def test_the_shipped_model_reconstructs_videos_it_has_not_seen():
    torch.manual_seed(0)
    model = coordtok.load_tokenizer()
    cfg = model.cfg
    held = SyntheticVideos(3, frames=cfg.frames, size=cfg.height, seed=50_000)     # neither training (0..) nor demo held-out (10_000..) seeds
    v = collate([held[i] for i in range(len(held))])['video']
    with torch.no_grad(): rec = model.reconstruct(v, chunk=256).clamp(-1, 1)
    psnr = float(video_psnr(rec, v).mean())
    base = baseline_psnr(v)
    assert psnr > base['mean colour'] + 4, (psnr, base)                              # far past each video's mean colour (measured: +6.0 dB)
    assert psnr > base['temporal mean'] - 1, (psnr, base)                            # and about its temporal mean frame (measured: +1.4 dB)
    assert psnr > base['pool 8x8'], (psnr, base)                                     # and past per-frame 8x8 pooling (measured: +0.35 dB)
