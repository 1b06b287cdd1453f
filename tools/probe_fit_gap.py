"""Training videos against new ones (09_train, round 8): a saved model's PSNR on 8 of the demo's 512 training videos
(seed 0, every 64th), on its 4 held-out videos (seed 10000) and on 4 videos of seed 50000, each beside the same videos'
baselines (mean colour, temporal mean frame, per-frame 8x8 and 16x16 pooling). Usage: python tools/probe_fit_gap.py MODEL_DIR"""
import sys, torch
from coordtok import load_tokenizer
from coordtok.data import SyntheticVideos
from coordtok.metrics import video_psnr, baseline_psnr
m = load_tokenizer(sys.argv[1]); cfg = m.cfg
for name, seed, n, idx in (('training', 0, 512, range(0, 512, 64)), ('held out', 10_000, 4, range(4)), ('seed 50000', 50_000, 4, range(4))):
    ds = SyntheticVideos(n, frames=cfg.frames, size=cfg.height, seed=seed, cfg=cfg)
    V = torch.stack([ds[i]['video'] for i in idx])
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16): r = m.reconstruct(V, chunk=256).float().clamp(-1, 1)
    print(f"{name:>10}: {float(video_psnr(r, V).mean()):.2f} dB;", ', '.join(f"{k} {float(v):.2f}" for k, v in baseline_psnr(V).items()), flush=True)
