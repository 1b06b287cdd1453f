# probe_recipe.py --hook: the decoder reads the three plane features and their pairwise products (a K-planes-like AND of
# "something is at this row" and "at this column"), 6C values instead of 3C (09_train, round 5)
import torch, torch.nn as nn
from coordtok.triplane import sample_triplane
from coordtok.patches import coords_to_index
_dec = model.decoder
_dec.embed = nn.Linear(6 * cfg.channels, cfg.dec_dim)
nn.init.xavier_uniform_(_dec.embed.weight); nn.init.zeros_(_dec.embed.bias)
def _decode(planes, coords):
    h = sample_triplane(planes, coords)
    a, b, c = h.split(cfg.channels, -1)
    x = _dec.embed(torch.cat([h, b * c, a * b, a * c], -1)) + _dec.positions(coords_to_index(coords, cfg.dec_grid))
    for blk in _dec.blocks: x = blk(x)
    return _dec.head(_dec.norm(x))
_dec.forward = _decode
