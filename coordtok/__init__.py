"""A literate, tested reproduction of CoordTok: long-video tokenization via coordinate-based patch reconstruction (CVPR 2025)

Modules:

- `coordtok.cost`: Memory and FLOPs of one training step as the clip grows from 16 to 128 frames: CoordTok's decoder on a fixed number of sampled coordinates versus a decoder that reconstructs every frame (Figures 1a and 9).
- `coordtok.evaluate`: `coordtok eval`: a tokenizer's reconstruction quality as the paper measures it (PSNR, SSIM, LPIPS, rFVD on 128- and 16-frame clips), and the baselines' clip-by-clip protocol with the discontinuity it causes.
- `coordtok.metrics`: PSNR, SSIM, LPIPS, FVD and the dynamics/frequency statistics of the paper's analysis, each written from its definition and checked against an independent computation."""

__version__ = "0.1.0"
