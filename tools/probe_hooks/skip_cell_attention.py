# probe_recipe.py --hook: a learned skip path (09_train, round 5): every plane cell of the video (T/Rt frames x H/Rxy x
# W/Rxy pixels) embedded to 64 features (e); xy from their temporal mean, yt and xt from the motion (e minus its temporal
# mean) pooled over rows / columns by a softmax over 4 heads (POOL=attention, the default) or by a mean (POOL=mean).
# SKIP_ONLY=1: the skip path alone.
import os, torch, torch.nn as nn, torch.nn.functional as F
from coordtok.layers import PatchEmbed3D
_T, _H, _W = cfg.video_shape; _R, _Rt = cfg.latent_xy, cfg.latent_t
_d, _nh = 64, 4
_enc, _fwd = model.encoder, model.encoder.forward
_enc.cell_embed = PatchEmbed3D((_T // _Rt, _H // _R, _W // _R), _d)
_enc.cell_score = nn.Linear(_d, 2 * _nh)
for _p in ('xy', 'yt', 'xt'): setattr(_enc, f'unembed_cells_{_p}', nn.Linear(_d, cfg.channels))
def _pool(h, s, dim):
    w = s.float().softmax(dim).to(h.dtype)
    return (h.unflatten(-1, (_nh, _d // _nh)) * w[..., None]).sum(dim).flatten(-2)
def _cells(video, n_frames=None):
    e = _enc.cell_embed(video).view(len(video), _Rt, _R, _R, _d)        # (B, t, x, y, d)
    still = e.mean(1); m = e - still[:, None]
    if os.environ.get('POOL', 'attention') == 'mean': yt, xt = m.mean(2), m.mean(3)
    else:
        g = F.gelu(m); s = _enc.cell_score(g)
        yt, xt = _pool(g, s[..., :_nh], 2), _pool(g, s[..., _nh:], 3)
    skip = [getattr(_enc, f'unembed_cells_{p}')(x).permute(0, 3, 1, 2) for p, x in zip(('xy', 'yt', 'xt'), (still, yt, xt))]
    if os.environ.get('SKIP_ONLY') == '1': return tuple(skip)
    return tuple(a + b for a, b in zip(_fwd(video, n_frames), skip))
_enc.forward = _cells
