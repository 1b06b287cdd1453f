"""Prepare UCF-101 for coordtok: fetch (or take) the official archives, extract them, write the split lists.

    python data/prepare_ucf101.py                                  # download from the CRCV site, extract to data/ucf101/
    python data/prepare_ucf101.py --archive ~/UCF101.rar --splits ~/UCF101TrainTestSplits-RecognitionTask.zip

Result (what `coordtok.data.ucf101()` reads):

    data/ucf101/UCF-101/<class>/<video>.avi     13,320 videos in 101 class folders
    data/ucf101/ucfTrainTestlist/               the official split files, as shipped
    data/ucf101/train.txt, test.txt             the chosen fold's lists, checked against the files on disk

See data/README.md.
"""
from __future__ import annotations
import argparse, shutil, ssl, subprocess, sys, time, urllib.request, zipfile
from pathlib import Path

try:
    from coordtok.data import VideoFolder, video_info
except ImportError:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from coordtok.data import VideoFolder, video_info

URLS = {'videos': 'https://www.crcv.ucf.edu/data/UCF101/UCF101.rar',
        'splits': 'https://www.crcv.ucf.edu/data/UCF101/UCF101TrainTestSplits-RecognitionTask.zip'}
N_VIDEOS, N_CLASSES = 13320, 101

def download(url: str, dest: Path, insecure: bool = False) -> Path:
    "Download `url` to `dest` (kept if already there), with a progress line."
    if dest.exists(): print(f"using {dest}"); return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    ctx = ssl._create_unverified_context() if insecure else None
    part = dest.with_name(dest.name + '.part')
    print(f"downloading {url} -> {dest}")
    try:
        with urllib.request.urlopen(url, context=ctx, timeout=60) as r, open(part, 'wb') as f:
            total, done, t0 = int(r.headers.get('Content-Length') or 0), 0, time.time()
            while chunk := r.read(1 << 20):
                f.write(chunk); done += len(chunk)
                rate = done / max(time.time() - t0, 1e-3) / 2**20
                print(f"\r  {done / 2**20:,.0f} / {total / 2**20:,.0f} MiB  {rate:.1f} MiB/s", end='', file=sys.stderr)
        print(file=sys.stderr)
    except (OSError, ssl.SSLError) as e:
        part.unlink(missing_ok=True)
        hint = ' (if the certificate fails to verify, retry with --insecure)' if 'CERTIFICATE' in str(e).upper() else ''
        sys.exit(f"error: could not download {url}: {e}{hint}\n"
                 f"Download it by other means and pass it with --archive/--splits.")
    part.rename(dest)
    return dest

def extract(archive: Path, out: Path):
    "Extract a .rar with unrar, 7z or bsdtar (whichever is installed); .zip and .tar.* with Python."
    out.mkdir(parents=True, exist_ok=True)
    if archive.suffix.lower() != '.rar':
        print(f"extracting {archive} -> {out}")
        shutil.unpack_archive(str(archive), str(out)); return
    tools = [('unrar', ['unrar', 'x', '-o+', '-idq', str(archive), f"{out}/"]),
             ('7z', ['7z', 'x', '-y', f"-o{out}", str(archive)]),
             ('7zz', ['7zz', 'x', '-y', f"-o{out}", str(archive)]),
             ('bsdtar', ['bsdtar', '-xf', str(archive), '-C', str(out)])]
    for name, cmd in tools:
        if shutil.which(name) is None: continue
        print(f"extracting {archive} -> {out} with {name} (6.5 GB, several minutes)")
        r = subprocess.run(cmd, stdout=subprocess.DEVNULL)
        if r.returncode == 0: return
        print(f"  {name} failed (exit {r.returncode}); trying the next tool", file=sys.stderr)
    sys.exit(f"error: cannot extract {archive}: it is a RAR archive, and none of unrar, 7z, 7zz or bsdtar "
             f"is installed (or all failed).\nInstall one, e.g. on Debian/Ubuntu:\n"
             f"  apt-get install unrar             # non-free\n"
             f"  apt-get install 7zip              # Debian 12+ / Ubuntu 23.04+ (reads RAR)\n"
             f"  apt-get install libarchive-tools  # bsdtar\n"
             f"or extract it yourself into {out} so that {out / 'UCF-101'} holds the class folders, then rerun.")

def find_dir(root: Path, name: str) -> Path | None:
    "The folder called `name` at or under `root` (archives differ in how deep they nest it)."
    if (root / name).is_dir(): return root / name
    return next((p for p in root.rglob(name) if p.is_dir()), None)

def write_split(videos: Path, official: Path, dest: Path, with_labels: bool) -> int:
    "Check an official split list against the files on disk and write it (paths as on disk, one per line)."
    ds = VideoFolder(videos, split=official, train=False)   # fails here, naming them, if listed files are missing
    lines = [f"{p} {ds.label(i) + 1}" if with_labels else p for i, p in enumerate(ds.files)]
    dest.write_text('\n'.join(lines) + '\n')
    print(f"wrote {dest}: {len(lines)} videos of {len({p.split('/')[0] for p in ds.files})} classes")
    return len(lines)

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--out', type=Path, default=Path(__file__).resolve().parent / 'ucf101', help='where to put the dataset')
    ap.add_argument('--archive', type=Path, help='a local UCF101.rar (else downloaded into --cache)')
    ap.add_argument('--splits', type=Path, help='a local UCF101TrainTestSplits-RecognitionTask.zip (else downloaded)')
    ap.add_argument('--cache', type=Path, default=Path(__file__).resolve().parent / 'cache', help='where downloads go')
    ap.add_argument('--fold', type=int, default=1, choices=(1, 2, 3), help='which official split (the paper: 1)')
    ap.add_argument('--insecure', action='store_true', help="don't verify the download site's TLS certificate")
    ap.add_argument('--check', type=int, default=3, help='decode this many videos as a smoke test (0: none)')
    a = ap.parse_args(argv)
    out = a.out
    for name, path in (('--archive', a.archive), ('--splits', a.splits)):
        if path is not None and not path.exists(): sys.exit(f"error: {name} {path} does not exist")

    videos = find_dir(out, 'UCF-101')
    if videos is None or sum(1 for _ in videos.iterdir()) < N_CLASSES:
        archive = a.archive or download(URLS['videos'], a.cache / 'UCF101.rar', a.insecure)
        extract(archive, out)
        videos = find_dir(out, 'UCF-101')
        if videos is None: sys.exit(f"error: {archive} did not contain a UCF-101/ folder (looked under {out})")
    else: print(f"using the videos already in {videos}")
    if videos != out / 'UCF-101': videos = Path(shutil.move(str(videos), str(out / 'UCF-101')))

    lists = find_dir(out, 'ucfTrainTestlist')
    if lists is None:
        extract(a.splits or download(URLS['splits'], a.cache / 'UCF101TrainTestSplits-RecognitionTask.zip', a.insecure), out)
        lists = find_dir(out, 'ucfTrainTestlist')
        if lists is None: sys.exit(f"error: the splits archive did not contain a ucfTrainTestlist/ folder")
    if lists != out / 'ucfTrainTestlist': lists = Path(shutil.move(str(lists), str(out / 'ucfTrainTestlist')))

    n_train = write_split(videos, lists / f'trainlist{a.fold:02d}.txt', out / 'train.txt', with_labels=True)
    n_test = write_split(videos, lists / f'testlist{a.fold:02d}.txt', out / 'test.txt', with_labels=False)
    if n_train + n_test != N_VIDEOS:
        print(f"note: {n_train} + {n_test} videos listed; the full UCF-101 has {N_VIDEOS}", file=sys.stderr)
    if a.check:
        files = (out / 'test.txt').read_text().split()
        for rel in files[:: max(1, len(files) // a.check)][:a.check]:
            print(f"  {rel}: {video_info(videos / rel)}")
    print(f"done: coordtok.data.ucf101({str(out)!r}, split='train') reads it")

if __name__ == '__main__':
    main()
