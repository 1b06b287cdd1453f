"Save one checkpoint, then get SIGKILLed in the middle of writing the next one."
import os, signal, sys
from pathlib import Path
import torch
from coordtok.runtime import save_checkpoint, CKPT_FORMAT

path = Path(sys.argv[1])
save_checkpoint({'format': CKPT_FORMAT, 'step': 1, 'w': torch.ones(1000)}, path)
real_save = torch.save
def dying_save(obj, f, *a, **k):
    f.write(b'PK\x03\x04 half a checkpoint')
    f.flush(); os.fsync(f.fileno())
    os.kill(os.getpid(), signal.SIGKILL)
torch.save = dying_save
save_checkpoint({'format': CKPT_FORMAT, 'step': 2, 'w': torch.zeros(1000)}, path)
