"""A literate, tested reproduction of CoordTok: long-video tokenization via coordinate-based patch reconstruction (CVPR 2025)

Modules:

- `coordtok.metrics`: PSNR, SSIM, LPIPS, FVD and the dynamics/frequency statistics of the paper's analysis, each written from its definition and checked against an independent computation."""

__version__ = "0.1.0"
