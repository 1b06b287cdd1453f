"""Test-time refinement of a saved model (09_train, round 7): it encodes the demo's 4 held-out videos and seeds
50000-50002, then Adam steps on the planes alone (the weights fixed, bf16) against the same videos, as CoordTok.refine
does. Usage: python tools/probe_refine.py MODEL_DIR LR STEPS"""
import sys, time, torch
import coordtok
from coordtok.data import SyntheticVideos, collate
from coordtok.patches import sample_coords
from coordtok.train import l2_per_video
from coordtok.metrics import video_psnr
path, lr, steps = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
m = coordtok.load_tokenizer(path).eval()
for p in m.parameters(): p.requires_grad_(False)
for seed, n in ((10_000, 4), (50_000, 3)):
    d = SyntheticVideos(n, frames=128, size=64, seed=seed); V = collate([d[i] for i in range(n)])['video']
    act = ((V - V.median(1, keepdim=True).values).abs().amax(-1) > 0.3)
    def ev(planes):
        with torch.no_grad(): r = m.decode_video(planes, chunk=256).clamp(-1, 1)
        e = ((r - V) ** 2).mean(-1); f = lambda x: round(float(10 * torch.log10(4 / x)), 2)
        return round(float(video_psnr(r, V).mean()), 2), f(e[act].mean()), f(e[~act].mean())
    t0 = time.time()
    with torch.no_grad(): planes = [p.clone() for p in m.encode(V)]
    print(seed, 'plane std', [round(float(p.std()), 3) for p in planes], 'encode', f'{time.time() - t0:.1f}s', flush=True)
    print(seed, 0, ev(planes), flush=True)
    planes = [torch.nn.Parameter(p) for p in planes]
    opt = torch.optim.Adam(planes, lr=lr, betas=(0.9, 0.95))
    g = torch.Generator().manual_seed(0); t0 = time.time(); marks = {25, 50, 100, 200, 400}
    for k in range(1, steps + 1):
        coords, target = sample_coords(V, 1024, m.cfg.dec_patch, None, g)
        with torch.autocast('cpu', dtype=torch.bfloat16):
            loss = l2_per_video(m.decoder(planes, coords), target).sum()
        opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
        if k in marks:
            dt = time.time() - t0; print(seed, k, ev(planes), f'{dt:.1f}s of refinement for {n} videos', flush=True); t0 = time.time() - dt
