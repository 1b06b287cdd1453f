"""Fixed-wall-time probe of the CoordTok recipe (09_train, "A recipe that learns fast"): pre-rendered videos kept in memory,
one change per run through --model (config fields as JSON), --lr and the group scales; held-out PSNR at fixed minutes.
Example: python tools/probe_recipe.py --name lr1.5e-3 --minutes 3 --lr 1.5e-3 --dec 1.333 --plane 1 --skip 33.3
Each mark prints (steps, PSNR, PSNR on the actors' pixels, PSNR on the rest); the actors' pixels are those farther than 0.3
from their video's temporal median (round 4)."""
import argparse, json, math, time, sys, os, tempfile
import torch
import torch.nn.functional as F
from coordtok.config import preset
from coordtok.tokenizer import CoordTok
from coordtok.train import TrainConfig, param_groups, l2_per_video
from coordtok.patches import sample_coords, motion_weights
from coordtok.metrics import video_psnr, baseline_psnr
from coordtok.data import SyntheticVideos, to_uint8, to_float
from coordtok.runtime import reuse_freed_memory

p = argparse.ArgumentParser()
p.add_argument('--name', required=True); p.add_argument('--minutes', type=float, default=3)
p.add_argument('--preset', default='small'); p.add_argument('--model', default='{}')
p.add_argument('--lr', type=float, default=8e-3); p.add_argument('--dec', type=float, default=0.25); p.add_argument('--plane', type=float, default=6.25)
p.add_argument('--skip', type=float, default=None, help="axis_skip's maps in a group of their own at this x --lr (TrainConfig.skip_lr_scale, round 6); unset: with the planes")
p.add_argument('--warmup', type=int, default=30); p.add_argument('--bs', type=int, default=16); p.add_argument('--nc', type=int, default=256)
p.add_argument('--dynamics', type=float, default=None); p.add_argument('--nv', type=int, default=96)
p.add_argument('--cosine', type=int, default=0, help='cosine decay over this many steps (0: constant)')
p.add_argument('--cosine_minutes', type=float, default=0, help='cosine decay over this many minutes (0: constant)')
p.add_argument('--min_lr', type=float, default=0.05)
p.add_argument('--beta2', type=float, default=0.95); p.add_argument('--wd', type=float, default=0.0)
p.add_argument('--fp32', action='store_true'); p.add_argument('--hook', default='')
p.add_argument("--motion_floor", type=float, default=-1, help="draw coordinates in proportion to motion + this x its mean (<0: uniform; TrainConfig.coord_sampling, round 5)")
p.add_argument("--save", default="", help="write the trained state dict here")
p.add_argument("--results", default="probe_results.jsonl", help="a JSON line per probe is appended here")
a = p.parse_args()
reuse_freed_memory()   # as training on the CPU does since round 8 (01_runtime); rows before 72 ran without it: 19% fewer steps in 3 minutes
torch.manual_seed(0)
cfg = preset(a.preset).replace(**json.loads(a.model))
kw = dict(frames=cfg.frames, size=cfg.height, cfg=cfg, **({} if a.dynamics is None else dict(dynamics=a.dynamics)))
cache = os.path.join(tempfile.gettempdir(), f"coordtok_probe_{cfg.frames}_{cfg.height}_{a.nv}_{a.dynamics}.pt")   # rendered once
if os.path.exists(cache): tr, he = torch.load(cache)
else:
    tr = torch.stack([to_uint8(SyntheticVideos(a.nv, seed=0, **kw)[i]['video']) for i in range(a.nv)])
    he = torch.stack([to_uint8(SyntheticVideos(4, seed=10_000, **kw)[i]['video']) for i in range(4)])
    torch.save((tr, he), cache)
held = to_float(he)
base = {k: round(float(v), 2) for k, v in baseline_psnr(held).items()}
actors = ((held - held.median(1, keepdim=True).values).abs().amax(-1) > 0.3)   # (B, T, H, W): the pixels of what moves
def masked_psnr(x, m): return round(float(10 * torch.log10(4 / ((x - held) ** 2).mean(-1)[m].mean())), 2)
pool = lambda k: F.interpolate(F.avg_pool2d(held.flatten(0, 1).permute(0, 3, 1, 2), k), scale_factor=k).permute(0, 2, 3, 1).reshape(held.shape)
for k, name in ((8, 'pool 8x8'), (4, 'pool 16x16')): base[name + ' actors'], base[name + ' rest'] = masked_psnr(pool(k), actors), masked_psnr(pool(k), ~actors)
model = CoordTok(cfg)
if a.hook: exec(open(a.hook).read())
tc = TrainConfig(lr=a.lr, decoder_lr_scale=a.dec, plane_lr_scale=a.plane, skip_lr_scale=a.skip)
opt = torch.optim.AdamW(param_groups(model, tc), lr=a.lr, betas=(0.9, a.beta2), weight_decay=a.wd, fused=True)
dt = torch.float32 if a.fp32 else torch.bfloat16
def ev():
    model.eval()
    with torch.no_grad(), torch.autocast('cpu', dtype=dt, enabled=not a.fp32):
        r = model.reconstruct(held, chunk=256).float().clamp(-1, 1)
    model.train(); return round(float(video_psnr(r, held).mean()), 2), masked_psnr(r, actors), masked_psnr(r, ~actors)
g = torch.Generator().manual_seed(1)
t0 = time.time(); step = 0; marks = [0.5, 1, 2, 3, 4, 5, 6, 8, 10]; res = {}; losses = []
while True:
    el = (time.time() - t0) / 60
    if marks and el >= marks[0]:
        te = time.time(); res[marks.pop(0)] = (step, *ev()); t0 += time.time() - te
        print(a.name, res, flush=True)
    if el >= a.minutes: break
    f = min(1, (step + 1) / a.warmup)
    if a.cosine: f *= a.min_lr + (1 - a.min_lr) * 0.5 * (1 + math.cos(math.pi * min(step / a.cosine, 1)))
    if a.cosine_minutes: f *= a.min_lr + (1 - a.min_lr) * 0.5 * (1 + math.cos(math.pi * min(el / a.cosine_minutes, 1)))
    for gr in opt.param_groups: gr['lr'] = a.lr * gr['lr_scale'] * f
    idx = torch.randint(len(tr), (a.bs,), generator=g)
    v = to_float(tr[idx])
    w = None if a.motion_floor < 0 else motion_weights(v, cfg.dec_patch, None, a.motion_floor)   # TrainConfig.coord_sampling='motion'
    coords, target = sample_coords(v, a.nc, cfg.dec_patch, None, g, weights=w)
    with torch.autocast('cpu', dtype=dt, enabled=not a.fp32):
        loss = l2_per_video(model(v, coords), target).mean()
    opt.zero_grad(set_to_none=True); loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0); opt.step(); step += 1
    losses.append(float(loss.detach()))
res['final'] = (step, *ev())
out = dict(name=a.name, args=vars(a), res=res, base=base, s_per_step=round(a.minutes * 60 / step, 3), loss_tail=round(sum(losses[-20:]) / 20, 5))
print(json.dumps(out), flush=True)
if a.save: torch.save(model.state_dict(), a.save)
open(a.results, 'a').write(json.dumps(out) + '\n')
