# probe_recipe.py --hook, with --model '{"axis_skip": true}': axis_skip's statistics plus, for each row / column line of
# each frame, where its motion lies along the pooled axis: the energy-weighted mean position and spread (09_train, round 6).
# A line's yt / xt statistic grows from 4 values (energy-weighted motion colour, mean energy) to 6. SKIP_ONLY=1: the skip
# path alone. MOMENTS=0: the same code without the two moments (the baseline).
import os, math, torch, torch.nn as nn
import coordtok.encoder as _ce
_enc = model.encoder
_mom = os.environ.get('MOMENTS', '1') == '1'
_c = 6 if _mom else 4
for _p in ('yt', 'xt'): setattr(_enc, f'unembed_skip_{_p}', nn.Linear(math.prod(_enc.cells[_p]) * _c, cfg.channels))
def _stats(video, n_frames=None, eps=1e-3):
    def one(v):
        still = v.mean(1); r = v - still[:, None]
        e = r.abs().sum(-1, keepdim=True).add_(eps)                      # (1, T, H, W, 1)
        re = r * e
        e_x, e_y = e.sum(2), e.sum(3)
        yt = [re.sum(2) / e_x, e_x / v.shape[2]]
        xt = [re.sum(3) / e_y, e_y / v.shape[3]]
        if _mom:
            ph = torch.linspace(-1, 1, v.shape[2]).view(1, 1, -1, 1, 1); pw = torch.linspace(-1, 1, v.shape[3]).view(1, 1, 1, -1, 1)
            cy = (e * ph).sum(2) / e_x; sy = ((e * ph * ph).sum(2) / e_x - cy * cy).clamp_min(0).sqrt()
            cx = (e * pw).sum(3) / e_y; sx = ((e * pw * pw).sum(3) / e_y - cx * cx).clamp_min(0).sqrt()
            yt += [cy, sy]; xt += [cx, sx]
        return still, torch.cat(yt, -1), torch.cat(xt, -1)
    outs = [one(v.float()) for v in video.split(1)]
    return tuple(torch.cat(o) for o in zip(*outs))
_ce.axis_stats = _stats
if os.environ.get('SKIP_ONLY') == '1': _enc.forward = lambda video, n_frames=None: tuple(_enc.skip(video, n_frames))
