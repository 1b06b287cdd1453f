"""Fixed-step probe of the actors (09_train, "Round 4"): the demo's recipe on pre-rendered videos, held-out PSNR overall and on
the actors' pixels (farther than 0.3 from the video's temporal median), uniform or motion-weighted coordinate sampling.
Example: python tools/probe_actors.py --name enc_layers1 --steps 400 --model '{"enc_layers": 1}'"""
import argparse, json, math, time, os, tempfile
import torch
from coordtok.config import preset
from coordtok.tokenizer import CoordTok
from coordtok.train import TrainConfig, param_groups, l2_per_video
from coordtok.patches import gather_patches, random_keys
from coordtok.metrics import video_psnr, baseline_psnr
from coordtok.data import SyntheticVideos, to_uint8, to_float
import torch.nn.functional as F
p = argparse.ArgumentParser()
p.add_argument('--name', required=True); p.add_argument('--steps', type=int, default=400)
p.add_argument('--motion', type=float, default=-1, help='floor ratio of motion weighting (<0: uniform)')
p.add_argument('--lr', type=float, default=1.5e-3); p.add_argument('--dec', type=float, default=4/3); p.add_argument('--plane', type=float, default=100/3)
p.add_argument('--bs', type=int, default=16); p.add_argument('--nc', type=int, default=256); p.add_argument('--nv', type=int, default=96)
p.add_argument('--threads', type=int, default=1); p.add_argument('--model', default='{}')
a = p.parse_args(); torch.set_num_threads(a.threads)
torch.manual_seed(0)
cfg = preset('small').replace(**json.loads(a.model))
kw = dict(frames=cfg.frames, size=cfg.height, cfg=cfg)
cache = os.path.join(tempfile.gettempdir(), f"coordtok_probe_{cfg.frames}_{cfg.height}_{a.nv}_None.pt")
if os.path.exists(cache): tr, he = torch.load(cache)
else:
    tr = torch.stack([to_uint8(SyntheticVideos(a.nv, seed=0, **kw)[i]['video']) for i in range(a.nv)])
    he = torch.stack([to_uint8(SyntheticVideos(4, seed=10_000, **kw)[i]['video']) for i in range(4)])
    torch.save((tr, he), cache)
held = to_float(he)
mask = ((held - held.median(1, keepdim=True).values).abs().amax(-1) > 0.3)          # (B,T,H,W) pixels far from the temporal median: actors
def mpsnr(x):
    e = ((x - held) ** 2).mean(-1)[mask].mean(); return float(10 * torch.log10(4 / e))
pool8 = F.interpolate(F.avg_pool2d(held.flatten(0, 1).permute(0, 3, 1, 2), 8), scale_factor=8).permute(0, 2, 3, 1).reshape(held.shape)
tmean = held.mean(1, keepdim=True).expand_as(held)
base = dict(pool8=round(float(video_psnr(pool8, held).mean()), 2), pool8_moving=round(mpsnr(pool8), 2), temporal_moving=round(mpsnr(tmean), 2),
            moving_frac=round(float(mask.float().mean()), 3))
print(a.name, base, flush=True)
# per-patch motion of every training video: mean |x - temporal mean| over the patch
pt, px, py = cfg.dec_patch
def patch_motion(v):   # v float (B,T,H,W,3) -> (B, total)
    d = (v - v.mean(1, keepdim=True)).abs().mean(-1)                        # (B,T,H,W)
    B, T, H, W = d.shape
    return d.reshape(B, T // pt, pt, H // px, px, W // py, py).mean((2, 4, 6)).flatten(1)
motion = torch.cat([patch_motion(to_float(tr[i:i + 8])) for i in range(0, len(tr), 8)])   # (N, total)
grid = (cfg.frames // pt, cfg.height // px, cfg.width // py); per_t = grid[1] * grid[2]
def sample(v, idx, g):
    B, total = len(v), math.prod(grid)
    u = random_keys(B, total, g, v.device)
    if a.motion >= 0:
        w = motion[idx]; w = w + a.motion * w.mean(1, keepdim=True)
        keys = u.clamp_min(1e-12).log() / w                                    # weighted sampling without replacement
    else: keys = u
    flat = keys.topk(a.nc, dim=1, sorted=False).indices.sort(dim=1).values
    index = torch.stack([flat // per_t, flat // grid[2] % grid[1], flat % grid[2]], -1)
    scale = torch.tensor([max(s - 1, 1) for s in grid], dtype=torch.float32)
    return index.float() / scale, gather_patches(v, index, cfg.dec_patch)
model = CoordTok(cfg)
tc = TrainConfig(lr=a.lr, decoder_lr_scale=a.dec, plane_lr_scale=a.plane)
opt = torch.optim.AdamW(param_groups(model, tc), lr=a.lr, betas=(0.9, 0.95), weight_decay=0.0, fused=True)
def ev():
    model.eval()
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
        r = model.reconstruct(held, chunk=256).float().clamp(-1, 1)
    model.train(); return round(float(video_psnr(r, held).mean()), 2), round(mpsnr(r), 2)
g = torch.Generator().manual_seed(1); res = {}; t0 = time.time()
for step in range(a.steps):
    f = min(1, (step + 1) / 30) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * step / a.steps)))
    for gr in opt.param_groups: gr['lr'] = a.lr * gr['lr_scale'] * f
    idx = torch.randint(len(tr), (a.bs,), generator=g)
    v = to_float(tr[idx])
    coords, target = sample(v, idx, g)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        loss = l2_per_video(model(v, coords), target).mean()
    opt.zero_grad(set_to_none=True); loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0); opt.step()
    if (step + 1) % (a.steps // 4) == 0: res[step + 1] = ev(); print(a.name, res, f"{time.time() - t0:.0f}s", flush=True)
out = dict(name=a.name, args=vars(a), res=res, base=base, seconds=round(time.time() - t0))
print(json.dumps(out), flush=True); open('probe_results.jsonl', 'a').write(json.dumps(out) + '\n')
