"""Free planes fitted directly to the demo's 4 held-out videos, the decoder with them (09_train, round 7): what the small
triplane and decoder can hold of each video when no encoder stands between. Run tools/probe_recipe.py once first: it
renders the videos this reads. Usage: python tools/probe_free_planes_heldout.py MINUTES"""
import sys, time, os, tempfile, torch
import torch.nn.functional as F
from coordtok.config import preset
from coordtok.tokenizer import CoordTok
from coordtok.train import l2_per_video
from coordtok.patches import sample_coords
from coordtok.data import to_float
torch.manual_seed(0)
minutes = float(sys.argv[1])
cfg = preset('small')
tr, he = torch.load(os.path.join(tempfile.gettempdir(), 'coordtok_probe_128_64_96_None.pt'))
V = to_float(he); n = len(V)
model = CoordTok(cfg); dec = model.decoder
planes = [torch.nn.Parameter(torch.randn(n, cfg.channels, *s)) for s in cfg.plane_shapes]
opt = torch.optim.AdamW([dict(params=dec.parameters(), lr=2e-3), dict(params=planes, lr=5e-2)], betas=(0.9, 0.95), weight_decay=0, fused=True)
act = ((V - V.median(1, keepdim=True).values).abs().amax(-1) > 0.3)
def per(r):
    e = ((r - V) ** 2).mean(-1); f = lambda x: round(float(10 * torch.log10(4 / x)), 2)
    return [f(e[b].mean()) for b in range(n)], f(e.mean()), f(e[act].mean()), f(e[~act].mean())
def pool(k): return F.interpolate(F.avg_pool2d(V.flatten(0, 1).permute(0, 3, 1, 2), k), scale_factor=k).permute(0, 2, 3, 1).reshape(V.shape)
print('pool 8x8', per(pool(8))); print('pool 16x16', per(pool(4)), flush=True)
def ev():
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
        return per(model.decode_video(planes, chunk=256).float().clamp(-1, 1))
g = torch.Generator().manual_seed(1); t0 = time.time(); step = 0; marks = [1, 2, 4, 6, 8, 10, 12]
while True:
    el = (time.time() - t0) / 60
    if marks and el >= marks[0]:
        te = time.time(); print(f'{marks.pop(0)} min, {step} steps', ev(), flush=True); t0 += time.time() - te
    if el >= minutes: break
    f = min(1, (step + 1) / 30)
    for gr, l in zip(opt.param_groups, (2e-3, 5e-2)): gr['lr'] = l * f
    coords, target = sample_coords(V, 1024, cfg.dec_patch, None, g)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        loss = l2_per_video(dec(planes, coords), target).mean()
    opt.zero_grad(set_to_none=True); loss.backward(); opt.step(); step += 1
print('end', step, 'steps', ev())
