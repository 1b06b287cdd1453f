# probe_recipe.py --hook: the tubelet embedding as two linear maps through RANK_EMBED (default 64) numbers instead of one
# full map of the 3072 values of a 4x16x16x3 tubelet to the encoder's width: a third of its arithmetic (09_train, round 8)
import math, os
import torch.nn as nn
_R = int(os.environ.get('RANK_EMBED', 64))
class _LowRankEmbed(nn.Module):
    def __init__(self, patch, dim):
        super().__init__(); self.patch = tuple(patch)
        self.down, self.up = nn.Linear(3 * math.prod(patch), _R, bias=False), nn.Linear(_R, dim)
    def forward(self, video):
        (B, T, H, W, c), (pt, ph, pw) = video.shape, self.patch
        if torch.is_autocast_enabled('cpu'): video = video.to(torch.get_autocast_dtype('cpu'))
        x = video.reshape(B, T // pt, pt, H // ph, ph, W // pw, pw, c).permute(0, 1, 3, 5, 2, 4, 6, 7).reshape(B, -1, pt * ph * pw * c)
        return self.up(self.down(x))
model.encoder.video.patch_embed = _LowRankEmbed(model.cfg.enc_patch, model.cfg.enc_dim)
