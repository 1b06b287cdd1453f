"""Decoder alone on free per-video planes (09_train): how well can the decoder draw these videos at all?
Run probe_recipe.py once first: it renders the videos this reads.
Usage: python tools/probe_decoder_alone.py NAME MINUTES DECODER_LR PLANE_LR [CONFIG_JSON]"""
import json, time, sys, os, tempfile, torch
from coordtok.config import preset
from coordtok.tokenizer import CoordTok
from coordtok.train import l2_per_video
from coordtok.patches import sample_coords
from coordtok.metrics import video_psnr, baseline_psnr
from coordtok.data import to_float
name, minutes, dlr, plr = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
over = json.loads(sys.argv[5]) if len(sys.argv) > 5 else {}
torch.manual_seed(0)
cfg = preset('small').replace(**over)
tr, he = torch.load(os.path.join(tempfile.gettempdir(), 'coordtok_probe_128_64_96_None.pt'))
V = to_float(tr[:32]); n = len(V)
model = CoordTok(cfg); dec = model.decoder
planes = [torch.nn.Parameter(torch.randn(n, cfg.channels, *s)) for s in cfg.plane_shapes]
opt = torch.optim.AdamW([dict(params=dec.parameters(), lr=dlr), dict(params=planes, lr=plr)], betas=(0.9, 0.95), weight_decay=0, fused=True)
g = torch.Generator().manual_seed(1)
def ev():
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
        idx = torch.arange(8)
        r = model.decode_video([p[idx] for p in planes], chunk=256).float().clamp(-1, 1)
    return round(float(video_psnr(r, V[idx]).mean()), 2)
base = {k: round(float(v), 2) for k, v in baseline_psnr(V[:8]).items()}
print(name, base, flush=True)
t0 = time.time(); step = 0; marks = [0.5, 1, 2, 3, 4, 5]; res = {}
while (time.time() - t0) / 60 < minutes:
    if marks and (time.time() - t0) / 60 >= marks[0]:
        te = time.time(); res[marks.pop(0)] = (step, ev()); t0 += time.time() - te; print(name, res, flush=True)
    f = min(1, (step + 1) / 30)
    for gr, l in zip(opt.param_groups, (dlr, plr)): gr['lr'] = l * f
    idx = torch.randint(n, (16,), generator=g)
    coords, target = sample_coords(V[idx], 256, cfg.dec_patch, None, g)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        loss = l2_per_video(dec([p[idx] for p in planes], coords), target).mean()
    opt.zero_grad(set_to_none=True); loss.backward(); opt.step(); step += 1
res['final'] = (step, ev())
out = dict(name=name, res=res, base=base); print(json.dumps(out)); open('probe_results.jsonl', 'a').write(json.dumps(out) + '\n')
