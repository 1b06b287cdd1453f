"""Decoder alone on free per-video planes, fixed steps (09_train, "Round 4"): PSNR overall and on the actors' pixels of 8 of
the 16 fitted videos; can a triplane and the decoder hold the actors at all? Run tools/probe_actors.py once first: it
renders the videos this reads. Usage: python tools/probe_actors_free_planes.py NAME STEPS [CONFIG_JSON]"""
import json, time, sys, os, tempfile, torch, math
import torch.nn.functional as F
from coordtok.config import preset
from coordtok.tokenizer import CoordTok
from coordtok.train import l2_per_video
from coordtok.patches import sample_coords
from coordtok.metrics import video_psnr
from coordtok.data import to_float
torch.set_num_threads(1)
name, steps = sys.argv[1], int(sys.argv[2]); over = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
torch.manual_seed(0)
cfg = preset('small').replace(**over)
tr, he = torch.load(os.path.join(tempfile.gettempdir(), 'coordtok_probe_128_64_96_None.pt'))
V = to_float(tr[:16]); n = len(V)
model = CoordTok(cfg); dec = model.decoder
planes = [torch.nn.Parameter(torch.randn(n, cfg.channels, *s)) for s in cfg.plane_shapes]
opt = torch.optim.AdamW([dict(params=dec.parameters(), lr=2e-3), dict(params=planes, lr=5e-2)], betas=(0.9, 0.95), weight_decay=0, fused=True)
E = V[:8]; mask = ((E - E.median(1, keepdim=True).values).abs().amax(-1) > 0.3)
def mp(x): return round(float(10 * torch.log10(4 / ((x - E) ** 2).mean(-1)[mask].mean())), 2)
pool8 = F.interpolate(F.avg_pool2d(E.flatten(0, 1).permute(0, 3, 1, 2), 8), scale_factor=8).permute(0, 2, 3, 1).reshape(E.shape)
pool16 = F.interpolate(F.avg_pool2d(E.flatten(0, 1).permute(0, 3, 1, 2), 4), scale_factor=4).permute(0, 2, 3, 1).reshape(E.shape)
print(name, 'pool8', round(float(video_psnr(pool8, E).mean()), 2), mp(pool8), 'pool16', round(float(video_psnr(pool16, E).mean()), 2), mp(pool16),
      'temporal', mp(E.mean(1, keepdim=True).expand_as(E)), 'actor frac', round(float(mask.float().mean()), 3), flush=True)
def ev():
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
        r = model.decode_video([p[:8] for p in planes], chunk=256).float().clamp(-1, 1)
    return round(float(video_psnr(r, E).mean()), 2), mp(r)
g = torch.Generator().manual_seed(1); t0 = time.time(); res = {}
for step in range(steps):
    f = min(1, (step + 1) / 30)
    for gr, l in zip(opt.param_groups, (2e-3, 5e-2)): gr['lr'] = l * f
    idx = torch.randint(n, (16,), generator=g)
    coords, target = sample_coords(V[idx], 256, cfg.dec_patch, None, g)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        loss = l2_per_video(dec([p[idx] for p in planes], coords), target).mean()
    opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
    if (step + 1) % (steps // 4) == 0: res[step + 1] = ev(); print(name, res, f'{time.time() - t0:.0f}s', flush=True)
open('probe_results.jsonl', 'a').write(json.dumps(dict(name=name, steps=steps, res=res)) + '\n')
