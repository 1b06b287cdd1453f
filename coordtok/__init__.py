"""A literate, tested reproduction of CoordTok: long-video tokenization via coordinate-based patch reconstruction (CVPR 2025)

Modules:

- `coordtok.ablations`: The paper's design choices re-run as small seeded sweeps: coordinate sampling ratio, triplane resolution in space and time, model size, frame versus coordinate sampling, LPIPS fine-tuning and the number of tokens (Table 4, Tables 8-9).
- `coordtok.cost`: Memory and FLOPs of one training step as the clip grows from 16 to 128 frames: CoordTok's decoder on a fixed number of sampled coordinates versus a decoder that reconstructs every frame (Figures 1a and 9).
- `coordtok.dynamics`: How a tokenizer's PSNR falls as videos move faster or carry finer texture, with the dynamics and frequency magnitudes of supplementary B.3 and their Pearson correlations (Figure 7a).
- `coordtok.evaluate`: `coordtok eval`: a tokenizer's reconstruction quality as the paper measures it (PSNR, SSIM, LPIPS, rFVD on 128- and 16-frame clips), and the baselines' clip-by-clip protocol with the discontinuity it causes.
- `coordtok.gen_check`: The whole generation pipeline end to end on a laptop CPU: a tiny tokenizer, a tiny SiT trained on its normalized triplanes, Euler-Maruyama sampling, decoding, and the time per video, against the paper's CoordTok-SiT-L/2.
- `coordtok.metrics`: PSNR, SSIM, LPIPS, FVD and the dynamics/frequency statistics of the paper's analysis, each written from its definition and checked against an independent computation.
- `coordtok.runtime`: What every job needs before it trains or measures anything: its place in a distributed job, the precision it computes in, seeds that say what they are for, checkpoints that survive being killed, and the clocks and memory gauges of the benchmarks.
- `coordtok.stitching`: A long video tokenized as independent 16-frame clips and stitched together, against the same video tokenized all at once: the jumps at the clip boundaries of Figure 1b, measured with trained tokenizers."""

__version__ = "0.1.0"

def __getattr__(name):   # `coordtok.load_tokenizer`, imported on first use so that `import coordtok` stays light
    if name == 'load_tokenizer':
        from .train import load_tokenizer
        return load_tokenizer
    raise AttributeError(f"module 'coordtok' has no attribute {name!r}")
