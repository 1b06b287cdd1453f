"""Seconds per demo training step on this machine (09_train, round 8): the demo's model (`small` + DEMO_SWITCHES) and
data path (uint8 batch -> float, motion weights, coordinates), bf16, fused AdamW; 20 steps after 3 of warm-up.
Usage: python tools/bench_step.py [--no-reuse]   (--no-reuse: glibc's default allocator settings, as before round 8)"""
import sys, time, torch
from coordtok.runtime import reuse_freed_memory
if '--no-reuse' not in sys.argv: reuse_freed_memory()
from coordtok.config import preset
from coordtok.tokenizer import CoordTok
from coordtok.train import param_groups, l2_per_video
from coordtok.patches import sample_coords, motion_weights
from coordtok.data import SyntheticVideos, to_uint8, to_float
from coordtok.cli import DEMO_MODEL, DEMO_SWITCHES, DEMO_TRAIN
torch.manual_seed(0)
cfg = preset(DEMO_MODEL, **DEMO_SWITCHES)
ds = SyntheticVideos(32, frames=cfg.frames, size=cfg.height, seed=0)
videos = torch.stack([to_uint8(ds[i]['video']) for i in range(len(ds))])
model, tc = CoordTok(cfg), DEMO_TRAIN
opt = torch.optim.AdamW(param_groups(model, tc), lr=tc.lr, betas=(0.9, tc.beta2), weight_decay=tc.weight_decay, fused=True)
g = torch.Generator().manual_seed(1)
def step():
    v = to_float(videos[torch.randint(len(videos), (tc.batch_size,), generator=g)])
    coords, target = sample_coords(v, tc.n_coords, cfg.dec_patch, None, g, weights=motion_weights(v, cfg.dec_patch, None, tc.motion_floor))
    with torch.autocast('cpu', dtype=torch.bfloat16): loss = l2_per_video(model(v, coords), target).mean()
    opt.zero_grad(set_to_none=True); loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), tc.grad_clip); opt.step()
for _ in range(3): step()
t0 = time.time()
for _ in range(20): step()
print(f"{(time.time() - t0) / 20:.3f} s a step ({'glibc defaults' if '--no-reuse' in sys.argv else 'reuse_freed_memory'})")
