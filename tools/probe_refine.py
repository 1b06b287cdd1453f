"""Test-time refinement of a saved model (09_train, round 7): `CoordTok.refine` (bf16) on the demo's 4 held-out videos and
on seeds 50000-50002, from the encoder's planes, for each number of steps in turn; PSNR (overall, actors, rest) and the
seconds it took, and each video's PSNR (round 10). Usage: python tools/probe_refine.py MODEL_DIR LR STEPS...
With STRIP=FILE.png in the environment it also writes 8 frames of the first demo video: original, one pass, then each
refinement (round 8: the actors stay soft blobs however long the planes are refined)."""
import os, sys, time, torch
import coordtok
from coordtok.data import SyntheticVideos, collate
from coordtok.metrics import video_psnr
from coordtok.visualize import frame_strip
path, lr, steps = sys.argv[1], float(sys.argv[2]), [int(k) for k in sys.argv[3:]]
m = coordtok.load_tokenizer(path).eval()
for seed, n in ((10_000, 4), (50_000, 3)):
    d = SyntheticVideos(n, frames=128, size=64, seed=seed); V = collate([d[i] for i in range(n)])['video']
    act = ((V - V.median(1, keepdim=True).values).abs().amax(-1) > 0.3)
    strip = seed == 10_000 and os.environ.get('STRIP')
    rows = [frame_strip(V[0])]
    def ev(planes):
        with torch.no_grad(): r = m.decode_video(planes, chunk=256).clamp(-1, 1)
        if strip: rows.append(frame_strip(r[0]))          # the first video, from the decoding scored below
        e = ((r - V) ** 2).mean(-1); f = lambda x: round(float(10 * torch.log10(4 / x)), 2)
        pv = video_psnr(r, V)
        return round(float(pv.mean()), 2), f(e[act].mean()), f(e[~act].mean()), [round(float(x), 2) for x in pv]
    with torch.no_grad(): planes = m.encode(V)
    print(seed, 0, ev(planes), flush=True)
    for k in steps:   # the same seed each time, so each run retraces the first steps of the next
        t0 = time.time()
        with torch.autocast('cpu', dtype=torch.bfloat16): refined = m.refine(V, planes, steps=k, lr=lr)
        dt = time.time() - t0
        print(seed, k, ev(refined), f'{dt:.1f}s of refinement for {n} videos', flush=True)
    if strip:
        import matplotlib.pyplot as plt
        gap = torch.ones(2, rows[0].shape[1], 3)
        plt.imsave(os.environ['STRIP'], torch.cat([x for r in rows for x in (r, gap)][:-1]).numpy())
