# probe_recipe.py --hook: a LayerNorm on the looked-up plane features before the decoder (09_train, round 3, row 30)
import torch.nn as nn
model.decoder.embed = nn.Sequential(nn.LayerNorm(3 * cfg.channels), model.decoder.embed)
