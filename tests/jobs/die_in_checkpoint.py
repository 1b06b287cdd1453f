"""Train either trainer through `fit` with a checkpoint every step, and get SIGKILLed halfway through writing the third one.
Usage: die_in_checkpoint.py tokenizer|sit OUT_DIR [LATENTS]; with COORDTOK_JOB_SURVIVE=1 it trains to the end instead."""
import os, signal, sys
import torch
torch.set_num_threads(1)
kind, out = sys.argv[1], sys.argv[2]
if os.environ.get('COORDTOK_JOB_SURVIVE') != '1':
    real_save, saves = torch.save, []
    def dying_save(obj, f, *a, **k):
        saves.append(obj.get('step') if isinstance(obj, dict) else None)
        if len(saves) < 3: return real_save(obj, f, *a, **k)
        f.write(b'PK\x03\x04 half a checkpoint'); f.flush(); os.fsync(f.fileno())   # a partial file on disk, then death
        os.kill(os.getpid(), signal.SIGKILL)
    torch.save = dying_save
if kind == 'tokenizer':
    from coordtok.config import preset
    from coordtok.train import TrainConfig, DataConfig, train
    train(preset('tiny'), TrainConfig(steps=5, batch_size=2, lr=1e-3, n_coords=32, ckpt_every=1, eval_every=0, progress=False,
                                      out_dir=out, device='cpu'), DataConfig(n_videos=8, n_eval=0))
else:
    from coordtok.generate import train_sit, SiTTrainConfig
    from coordtok.sit import sit_preset
    train_sit(sit_preset('tiny'), SiTTrainConfig(latents=sys.argv[3], batch_size=4, lr=1e-3, ckpt_every=1, log_every=1, steps=5,
                                                 progress=False, device='cpu', out_dir=out))
