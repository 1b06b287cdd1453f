"The trained `small` model that ships with the package: it loads with `coordtok.load_tokenizer()` and reconstructs held-out videos."
import torch
import coordtok
from coordtok.config import preset
from coordtok.data import SyntheticVideos, collate
from coordtok.metrics import video_psnr, baseline_psnr
from coordtok.train import shipped_model


def test_shipped_model_is_small_and_in_the_fields_format():
    d = shipped_model()
    assert sorted(p.name for p in d.iterdir()) == ['config.json', 'model.safetensors']
    assert sum(p.stat().st_size for p in d.iterdir()) <= 10 * 2**20          # at most 10 MB


def test_shipped_model_loads_and_beats_the_mean_colour_on_held_out_videos():
    model = coordtok.load_tokenizer()                                      # no path: the shipped model
    assert model.cfg == preset('small') and not model.training
    assert next(model.parameters()).dtype == torch.float32                 # stored in fp16, loaded as fp32
    held = SyntheticVideos(2, frames=128, size=64, seed=30_000)            # scenes it was not trained on
    b = collate([held[i] for i in range(len(held))])
    with torch.no_grad(): rec = model.reconstruct(b['video'], chunk=256).clamp(-1, 1)
    psnr, base = float(video_psnr(rec, b['video']).mean()), baseline_psnr(b['video'])
    assert psnr > base['mean colour'] + 1, (psnr, base)          # it has learned more than each video's colour
