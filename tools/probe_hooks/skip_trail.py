# probe_recipe.py --hook (round 7): axis_skip's xy statistic gains a fourth channel per pixel, the motion's mean energy
# over time (where anything ever moves: the actors' trails), so that the decoder can tell a real crossing of an xt and a
# yt track from a ghost one. The rest of axis_stats is the library's; this copy exists only to add that channel.
import math, torch, torch.nn as nn
import coordtok.encoder as _ce
_enc = model.encoder
_enc.unembed_skip_xy = nn.Linear(math.prod(_enc.cells['xy']) * 4, cfg.channels)
def _stats(video, n_frames=None, eps=1e-3):
    def one(v):
        still = v.mean(1)
        r = v - still[:, None]
        e = r.abs().sum(-1, keepdim=True).add_(eps)
        trail = e.mean(1)                                                   # (1, H, W, 1)
        re = r.mul_(e)
        e_x, e_y = e.sum(2), e.sum(3)
        yt = torch.cat([re.sum(2).div_(e_x), e_x.div_(v.shape[2])], -1)
        xt = torch.cat([re.sum(3).div_(e_y), e_y.div_(v.shape[3])], -1)
        return torch.cat([still, trail], -1), yt, xt
    assert n_frames is None
    outs = [one(v.float()) for v in video.split(1)]
    return tuple(torch.cat(o) for o in zip(*outs))
_ce.axis_stats = _stats
