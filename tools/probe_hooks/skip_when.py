# probe_recipe.py --hook, with --model '{"skip_trail": true}' (round 7): the skip's still frame gains a 5th channel
# beside the trails, *when* each pixel moves: the energy-weighted mean time of its motion, in [-1, 1] (0 where nothing
# moves). With the trails the decoder knows where an actor ever passes; with this also roughly when, so it can rule out a
# crossing of an xt and a yt track at a time no actor is there.
import math, torch, torch.nn as nn
import coordtok.encoder as _ce
_enc = model.encoder
_enc.unembed_skip_xy = nn.Linear(math.prod(_enc.cells['xy']) * 5, cfg.channels)
_lib = _ce.axis_stats
def _stats(video, n_frames=None, eps=1e-3, trail=False):
    assert n_frames is None and trail
    still, yt, xt = _lib(video, None, eps, trail=True)
    when = []
    for v in video.split(1):
        v = v.float(); e = (v - v.mean(1, keepdim=True)).abs_().sum(-1, keepdim=True).add_(eps)   # (1, T, H, W, 1)
        t = torch.linspace(-1, 1, v.shape[1]).view(1, -1, 1, 1, 1)
        when.append((e * t).sum(1) / e.sum(1))
    return torch.cat([still, torch.cat(when)], -1), yt, xt
_ce.axis_stats = _stats
