"""Which patches the decoder sees together (09_train, round 10). The decoder's self-attention mixes the patches of one
decoder pass, so a whole-clip reconstruction depends on how its 32,768 patches are split into passes. This scores a saved
model on the demo's 4 held-out videos with the same planes decoded in passes of: each frame's 256 patches (what
`decode_video(chunk=256)` does), 256 or 1024 patches drawn at random from the whole clip (as training draws them), 64
at random, and 256 that share 2 positions across all 128 frames. Usage: python tools/probe_decode_order.py MODEL_DIR"""
import sys, torch
import coordtok
from coordtok.data import SyntheticVideos, collate
from coordtok.metrics import video_psnr
from coordtok.patches import grid_coords, unpatchify
torch.manual_seed(0)
m = coordtok.load_tokenizer(sys.argv[1]); cfg = m.cfg
held = SyntheticVideos(4, frames=cfg.frames, size=cfg.height, seed=10_000)
V = collate([held[i] for i in range(len(held))])['video']
with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
    planes = m.encode(V)
    coords = grid_coords(cfg.dec_grid).expand(len(V), -1, -1); N = coords.shape[1]
    def score(order, chunk):
        out = torch.empty(len(V), N, cfg.patch_dim)
        for c in order.split(chunk): out[:, c] = m.decode(planes, coords[:, c]).float()
        p = video_psnr(unpatchify(out, cfg.dec_grid, cfg.dec_patch).clamp(-1, 1), V)
        return round(float(p.mean()), 2), [round(float(x), 2) for x in p]
    per_frame = N // cfg.frames
    for name, order, chunk in (('each frame (decode_video)', torch.arange(N), per_frame),
                               ('random, 256 a pass', torch.randperm(N), 256), ('random, 1024 a pass', torch.randperm(N), 1024),
                               ('random, 64 a pass', torch.randperm(N), 64),
                               ('2 positions x all frames', torch.arange(N).view(-1, N // 256).t().reshape(-1), 256)):
        print(f'{name:28s}', *score(order, chunk), flush=True)
