# probe_recipe.py --hook: a skip path of plain means, added to the cross-self encoder's planes (09_train, round 5). xy: the
# temporal mean frame; yt, xt: the mean over rows / columns of the video (MEANS=video) or of its motion, the video minus
# its temporal mean frame (MEANS=motion, the default); one linear map per plane from each cell's values. SKIP_ONLY=1:
# the skip path alone. The maps learn at the plane output layers' rate (named unembed_*), or SKIP_LR=rest at the encoders'.
import os, torch.nn as nn
from einops import rearrange
_T, _H, _W = cfg.video_shape
_px, _py, _pt = _H // cfg.latent_xy, _W // cfg.latent_xy, _T // cfg.latent_t
_enc, _fwd = model.encoder, model.encoder.forward
_name = 'unembed_means_' if os.environ.get('SKIP_LR', 'planes') == 'planes' else 'means_'
_maps = [nn.Linear(_px * _py * 3, cfg.channels), nn.Linear(_pt * _py * 3, cfg.channels), nn.Linear(_pt * _px * 3, cfg.channels)]
for _p, _m in zip(('xy', 'yt', 'xt'), _maps): setattr(_enc, _name + _p, _m)
def _means(video, n_frames=None):
    still = video.mean(1)
    r = video - still[:, None] if os.environ.get('MEANS', 'motion') == 'motion' else video
    xy = rearrange(still, 'b (x p) (y q) c -> b x y (p q c)', p=_px, q=_py)
    yt = rearrange(r.mean(2), 'b (t a) (y q) c -> b t y (a q c)', a=_pt, q=_py)
    xt = rearrange(r.mean(3), 'b (t a) (x p) c -> b t x (a p c)', a=_pt, p=_px)
    skip = [m(x).permute(0, 3, 1, 2) for m, x in zip(_maps, (xy, yt, xt))]
    if os.environ.get('SKIP_ONLY') == '1': return tuple(skip)
    return tuple(a + b for a, b in zip(_fwd(video, n_frames), skip))
_enc.forward = _means
