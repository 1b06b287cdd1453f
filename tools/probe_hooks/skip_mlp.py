# probe_recipe.py --hook, with axis_skip: the skip path's linear map per plane cell gains a nonlinear correction, an MLP
# of the same cell statistics (hidden HIDDEN=256, GELU, its output layer starting at zero, so the model starts as the
# linear skip), learning at the base rate with the rest of the encoder (09_train, round 10). The linear skip can only write
# a linear function of a cell's pixels into the planes; what the decoder needs there is whatever it inverts.
import os, math, torch, torch.nn as nn
from coordtok.encoder import axis_stats, plane_cells, PLANES
_enc = model.encoder
_H = int(os.environ.get('HIDDEN', '256'))
for _p in PLANES:
    _lin = getattr(_enc, f'unembed_skip_{_p}')
    _m = nn.Sequential(nn.Linear(_lin.in_features, _H), nn.GELU(), nn.Linear(_H, cfg.channels))
    nn.init.zeros_(_m[2].weight); nn.init.zeros_(_m[2].bias)
    _enc.add_module(f'skipmlp_{_p}', _m)
def _skip(video, n_frames=None):
    stats = axis_stats(video, n_frames, trail=cfg.skip_trail)
    out = []
    for p, s in zip(PLANES, stats):
        c = plane_cells(s, _enc.cells[p]).to(_enc.unembed_skip_xy.weight.dtype)
        out.append((getattr(_enc, f'unembed_skip_{p}')(c) + getattr(_enc, f'skipmlp_{p}')(c)).permute(0, 3, 1, 2))
    return out
_enc.skip = _skip
