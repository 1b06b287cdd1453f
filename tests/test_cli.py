import json, subprocess, sys
from pathlib import Path
import pytest
from coordtok.config import preset
import torch
from coordtok.cli import main, _preset_from_argv

EXE = [sys.executable, '-m', 'coordtok.cli']


def test_help_lists_commands_and_config_fields(capsys):
    with pytest.raises(SystemExit): main(['--help'])
    out = capsys.readouterr().out
    for cmd in ('train', 'reconstruct', 'demo', 'eval', 'bench', 'encode', 'train-sit', 'sample'): assert cmd in out
    with pytest.raises(SystemExit): main(['train', '--preset', 'tiny', '--help'])
    out = capsys.readouterr().out
    for flag in ('--model.enc-dim', '--model.latent-t', '--train.lr', '--train.n-coords', '--train.stage', '--data.root', '--data.num-workers'):
        assert flag in out, flag


def test_preset_flag():
    assert _preset_from_argv(['train', '--preset', 'tiny', '--train.lr', '1'], 'cpu') == ('tiny', ['train', '--train.lr', '1'])
    assert _preset_from_argv(['--preset=coordtok-L'], 'cpu')[0] == 'coordtok-L'
    with pytest.raises(SystemExit, match='unknown preset'): _preset_from_argv(['--preset', 'huge'], 'cpu')


def test_train_then_reconstruct_a_video_file(tmp_path):
    from coordtok.data import write_video, SyntheticVideos
    run = tmp_path / 'run'
    r = subprocess.run(EXE + ['train', '--preset', 'tiny', '--train.steps', '3', '--train.batch-size', '2', '--train.n-coords', '64',
                              '--train.out-dir', str(run), '--train.eval-every', '0', '--train.no-progress', '--data.n-videos', '8', '--data.n-eval', '1',
                              '--model.dec-layers', '1'],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert json.loads(r.stdout.strip().splitlines()[-1])['step'] == 3
    ck = torch.load(run / 'last.pt', weights_only=True)
    assert ck['config']['model']['dec_layers'] == 1
    # a video of another length and size: 40 frames of 48x60 -> two 16-frame clips and a padded third one
    v = SyntheticVideos(1, frames=40, size=(48, 60))[0]['video']
    write_video(tmp_path / 'in.mp4', v)
    out = tmp_path / 'out.mp4'
    r = subprocess.run(EXE + ['reconstruct', str(tmp_path / 'in.mp4'), '--checkpoint', str(run / 'last.pt'), '-o', str(out)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    res = json.loads(r.stdout.strip().splitlines()[-1])
    assert res['frames'] == 40 and 0 < res['psnr'] < 60 and -1 <= res['ssim'] <= 1
    from coordtok.data import video_info
    info = video_info(out)
    assert info['frames'] == 40 and info['height'] == 48 and info['width'] == 60      # the input's size, not the model's


def test_reconstruct_missing_file(tmp_path):
    r = subprocess.run(EXE + ['reconstruct', str(tmp_path / 'nope.mp4'), '--checkpoint', str(tmp_path / 'x.pt')], capture_output=True, text=True)
    assert r.returncode != 0 and 'no such video' in (r.stderr + r.stdout)


def test_demo_writes_its_outputs(tmp_path):
    from coordtok.cli import cmd_demo
    res = cmd_demo(out=tmp_path / 'demo', steps=2, minutes=5, progress=False, refine_steps=5)
    for f in ('reconstruction.mp4', 'strip.png', 'training.png', 'metrics.json', 'run/last.pt'): assert (tmp_path / 'demo' / f).exists(), f
    saved = json.loads((tmp_path / 'demo' / 'metrics.json').read_text())
    assert saved['steps'] == 2 and saved['held_out_psnr'] == pytest.approx(res['held_out_psnr'])
    assert saved['video'] == '128x64x64'
    assert saved['refine_steps'] == 5 and saved['held_out_psnr_refined'] > saved['held_out_psnr']   # the planes fitted to each video fit it better
    assert set(saved['baselines']) == {'mean colour', 'temporal mean', 'pool 8x8', 'pool 16x16'}
    assert saved['baselines']['mean colour'] < saved['baselines']['pool 8x8'] < saved['baselines']['pool 16x16']
    import coordtok
    model = coordtok.load_tokenizer(saved['model_path'])                 # the saved model, config.json + model.safetensors
    from coordtok.cli import DEMO_MODEL, DEMO_SWITCHES
    assert model.cfg == preset(DEMO_MODEL, **DEMO_SWITCHES) and model.cfg.skip_trail   # the preset and the demo's own switch
