# probe_recipe.py --hook: the decoder reads each plane's 3x3 neighbourhood of cells around the looked-up point, 9 x 3C
# values instead of 3C (09_train, round 10): a point of the yt / xt planes then sees the profile of its row / column
# around it (where along it the actor's extent starts and ends), from which the decoder could draw a shape, not a box.
# The neighbours are the plane shifted by one cell each way (edges repeated), looked up bilinearly like the plane.
import os, torch, torch.nn as nn, torch.nn.functional as F
from coordtok.triplane import sample_triplane
from coordtok.patches import coords_to_index
_dec = model.decoder
_R = int(os.environ.get('REACH', '1'))
_sh = [(i, j) for i in range(-_R, _R + 1) for j in range(-_R, _R + 1)]
_dec.embed = nn.Linear(3 * len(_sh) * cfg.channels, cfg.dec_dim)
nn.init.xavier_uniform_(_dec.embed.weight); nn.init.zeros_(_dec.embed.bias)
def _neigh(p):                                   # (B, C, R1, R2) -> (B, 9C, R1, R2)
    q = F.pad(p, (_R, _R, _R, _R), mode='replicate'); R1, R2 = p.shape[-2:]
    return torch.cat([q[:, :, _R + i:_R + i + R1, _R + j:_R + j + R2] for i, j in _sh], 1)
def _decode(planes, coords):
    h = sample_triplane(tuple(_neigh(p) for p in planes), coords)
    x = _dec.embed(h) + _dec.positions(coords_to_index(coords, cfg.dec_grid))
    for blk in _dec.blocks: x = blk(x)
    return _dec.head(_dec.norm(x))
_dec.forward = _decode
