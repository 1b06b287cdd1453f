# probe_recipe.py --hook: the cross-self encoder's plane output layers (unembed_xy, unembed_yt, unembed_xt) learn at
# ENC_PLANE times the base rate, in a group of their own, while the skip path's maps (unembed_skip_*) keep the plane
# output layers' rate (09_train, round 6). ZERO=1 also starts those encoder layers at zero.
import os, torch
_scale = float(os.environ.get('ENC_PLANE', '1'))
if os.environ.get('ZERO', '0') == '1':
    with torch.no_grad():
        for _p in ('xy', 'yt', 'xt'):
            _l = getattr(model.encoder, f'unembed_{_p}'); _l.weight.zero_(); _l.bias.zero_()
_pg = param_groups
def param_groups(model, tc):
    gs = _pg(model, tc)
    enc = [p for n, p in model.named_parameters() if n.split('.')[-2] in ('unembed_xy', 'unembed_yt', 'unembed_xt') and n.startswith('encoder.')]
    ids = {id(p) for p in enc}
    for g in gs: g['params'] = [p for p in g['params'] if id(p) not in ids]
    return gs + [dict(params=enc, name='encoder_planes', lr_scale=_scale, lr=tc.lr * _scale)]
