"Training jobs run as separate processes by tests/test_train.py (under torchrun, or to be killed)."
import json, os, sys
from dataclasses import replace
from pathlib import Path
import torch
from coordtok.config import preset
from coordtok.train import TrainConfig, DataConfig, train

if os.environ.get('COORDTOK_JOB_THREADS') != 'default': torch.set_num_threads(1)   # 'default': torch's own thread count
out, steps = Path(sys.argv[1]), int(sys.argv[2])
extra = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
base = dict(steps=steps, batch_size=4, lr=1e-3, n_coords=64, ckpt_every=1, eval_every=0, progress=False, out_dir=str(out), device='cpu')
cfg = TrainConfig(**{**base, **extra})   # extra (JSON) overrides any of these
res = train(preset('tiny'), cfg, DataConfig(n_videos=16, n_eval=0))
rank = int(os.environ.get('RANK', 0))
torch.save({k: v.detach().clone() for k, v in res['model'].state_dict().items()}, out / f'weights-rank{rank}.pt')
