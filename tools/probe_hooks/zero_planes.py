# probe_recipe.py --hook: the cross-self encoder's plane output layers (unembed_xy, unembed_yt, unembed_xt) start at zero,
# so that with axis_skip the planes start as the skip path's projections and the encoder learns a correction to them
# (09_train, round 6). ZERO=0: leave the initialisation alone (the baseline).
import os, torch
if os.environ.get('ZERO', '1') == '1':
    with torch.no_grad():
        for _p in ('xy', 'yt', 'xt'):
            _l = getattr(model.encoder, f'unembed_{_p}'); _l.weight.zero_(); _l.bias.zero_()
