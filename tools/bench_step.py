"""Seconds per demo training step on this machine (09_train, rounds 8-9): the demo's model (`small` + DEMO_SWITCHES) and
data path (uint8 batch -> float, motion weights, coordinates), bf16, fused AdamW; 20 steps after 3 of warm-up.
Usage: python tools/bench_step.py [--no-reuse] [--parts]
  --no-reuse: glibc's default allocator settings, as before round 8
  --parts:    also the mean seconds of each part of a step (data, encode, decode, backward, optimizer)"""
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
parts = {}
def mark(name, t0):   # the CPU runs each op before returning, so the clock needs no sync
    t = time.perf_counter(); parts[name] = parts.get(name, 0.0) + t - t0; return t
def step():
    t = time.perf_counter()
    v = to_float(videos[torch.randint(len(videos), (tc.batch_size,), generator=g)])
    coords, target = sample_coords(v, tc.n_coords, cfg.dec_patch, None, g, weights=motion_weights(v, cfg.dec_patch, None, tc.motion_floor))
    t = mark('data', t)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        planes = model.encode(v); t = mark('encode', t)
        loss = l2_per_video(model.decode(planes, coords), target).mean(); t = mark('decode', t)
    opt.zero_grad(set_to_none=True); loss.backward(); t = mark('backward', t)
    torch.nn.utils.clip_grad_norm_(model.parameters(), tc.grad_clip); opt.step(); mark('optimizer', t)
for _ in range(3): step()
parts.clear(); t0 = time.time()
for _ in range(20): step()
print(f"{(time.time() - t0) / 20:.3f} s a step ({'glibc defaults' if '--no-reuse' in sys.argv else 'reuse_freed_memory'})")
if '--parts' in sys.argv: print('  ' + ', '.join(f'{k} {v / 20:.3f} s' for k, v in parts.items()))
