# probe_recipe.py --hook: the decoder reads the planes 4x louder at initialisation (09_train, round 3, row 29)
with torch.no_grad(): model.decoder.embed.weight.mul_(4)
