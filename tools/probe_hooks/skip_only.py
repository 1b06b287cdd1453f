# probe_recipe.py --hook, with --model '{"axis_skip": true}': the skip path alone; the cross-self encoder is left out of
# the planes (09_train, round 5)
_enc = model.encoder
_enc.forward = lambda video, n_frames=None: tuple(_enc.skip(video, n_frames))
