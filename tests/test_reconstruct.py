"Any video in, the same video out: reconstruct, tokenize and detokenize at the input's frame count, size and fps; bad inputs."
import json
import pytest
import torch
from coordtok.config import preset
from coordtok.tokenizer import CoordTok
from coordtok.data import write_video, video_info, read_video, SyntheticVideos
from coordtok.cli import main, window_starts, blend_weights, fit_box, to_model_frames, from_model_frames, load_tokens

@pytest.fixture(scope='module')
def work(tmp_path_factory):
    torch.set_num_threads(1)
    d = tmp_path_factory.mktemp('rec')
    torch.manual_seed(0)
    CoordTok(preset('tiny')).save_pretrained(d / 'model')
    write_video(d / 'long.mp4', SyntheticVideos(1, frames=40, size=(48, 80))[0]['video'], fps=12)     # longer than the clip, wide
    write_video(d / 'short.mp4', SyntheticVideos(1, frames=10, size=(30, 40))[0]['video'], fps=7.5)   # shorter, 4:3, odd-free
    return d

def _run(args, capsys):
    main([str(a) for a in args])
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])

@pytest.mark.parametrize('name', ['long', 'short'])
@pytest.mark.parametrize('overlap', [0, 3])
def test_reconstruct_and_the_token_round_trip_keep_frames_size_and_fps(work, capsys, name, overlap):
    src = work / f'{name}.mp4'
    rec, cmp_, tok, det = (work / f'{name}{overlap}{s}' for s in ('_rec.mp4', '_cmp.mp4', '.safetensors', '_det.mp4'))
    res = _run(['reconstruct', src, '--checkpoint', work / 'model', '-o', rec, '--compare', cmp_, '--overlap', overlap], capsys)
    info = video_info(src)
    assert video_info(rec) == info
    assert video_info(cmp_) == dict(info, width=3 * info['width'] + 4)
    assert res['frames'] == info['frames'] and 0 < res['psnr'] < 60
    _run(['tokenize', src, '--checkpoint', work / 'model', '-o', tok, '--overlap', overlap], capsys)
    _run(['detokenize', tok, '--checkpoint', work / 'model', '-o', det], capsys)
    assert video_info(det) == info
    assert torch.equal(read_video(det), read_video(rec))

def test_windows_cover_the_video_and_blend_to_one():
    assert window_starts(40, 16) == [0, 16, 32] and window_starts(10, 16) == [0] and window_starts(16, 16) == [0]
    assert window_starts(40, 16, 4) == [0, 12, 24]
    s, L, ov, T = window_starts(50, 16, 5), 16, 5, 50
    total = torch.zeros(T)
    for k, a in enumerate(s):
        n = min(L, T - a)
        total[a:a + n] += blend_weights(n, ov, k == 0, k == len(s) - 1)
    assert torch.allclose(total[:s[-1]], torch.ones(s[-1]))           # every frame before the last window sums to 1
    with pytest.raises(ValueError, match=r'overlap must lie in \[0, 16\)'): window_starts(40, 16, 16)

def test_fit_and_its_inverse():
    cfg = preset('tiny')
    assert fit_box(48, 80, cfg) == (6, 0, 19, 32)                          # 48x80 fits as 19x32, centred
    assert fit_box(30, 40, cfg) == (4, 0, 24, 32) and fit_box(30, 40, cfg, 'stretch') == (0, 0, 32, 32)
    x = torch.rand(3, 30, 40, 3) * 2 - 1
    m = to_model_frames(x, cfg)
    assert m.shape == (3, 32, 32, 3) and torch.equal(m[:, 0], m[:, 3])        # the padding repeats the edge rows
    assert from_model_frames(m, 30, 40, cfg).shape == x.shape

def test_bad_inputs_are_errors_that_say_what_is_wrong(work, capsys, tmp_path):
    with pytest.raises(SystemExit, match='no such video'): main(['reconstruct', str(tmp_path / 'nope.mp4'), '--checkpoint', str(work / 'model')])
    with pytest.raises(SystemExit, match='no such video'): main(['tokenize', str(tmp_path / 'nope.mp4'), '--checkpoint', str(work / 'model')])
    with pytest.raises(ValueError, match=r'--overlap must lie in \[0, 16\)'):
        main(['reconstruct', str(work / 'long.mp4'), '--checkpoint', str(work / 'model'), '--overlap', '16', '-o', str(tmp_path / 'x.mp4')])
    with pytest.raises(FileNotFoundError, match='no checkpoint at'):
        main(['reconstruct', str(work / 'long.mp4'), '--checkpoint', str(tmp_path / 'a' / 'b' / 'missing')])
    (tmp_path / 'bad.safetensors').write_bytes(b'not a file')
    with pytest.raises(ValueError, match='is not a token file'): load_tokens(tmp_path / 'bad.safetensors')
    with pytest.raises(FileNotFoundError, match='no such token file'): load_tokens(tmp_path / 'none.safetensors')
    # a token file refuses another model
    _run(['tokenize', work / 'short.mp4', '--checkpoint', work / 'model', '-o', tmp_path / 't.safetensors'], capsys)
    torch.manual_seed(5); CoordTok(preset('tiny')).save_pretrained(tmp_path / 'other')
    with pytest.raises(ValueError, match='written by a model with other weights'):
        main(['detokenize', str(tmp_path / 't.safetensors'), '--checkpoint', str(tmp_path / 'other'), '-o', str(tmp_path / 'o.mp4')])

def test_refine_steps_flag_fits_each_window_and_the_token_file_records_it(work, capsys):
    src = work / 'short.mp4'
    one = _run(['reconstruct', src, '--checkpoint', work / 'model', '-o', work / 'one.mp4'], capsys)
    ref = _run(['reconstruct', src, '--checkpoint', work / 'model', '-o', work / 'ref.mp4', '--refine-steps', 20], capsys)
    assert (one['refine_steps'], ref['refine_steps']) == (0, 20)
    assert ref['psnr'] > one['psnr'] + 0.1                                # the same tokens' shape, closer to the video
    _run(['tokenize', src, '--checkpoint', work / 'model', '-o', work / 'ref.safetensors', '--refine-steps', 20], capsys)
    assert load_tokens(work / 'ref.safetensors')['layout']['refine_steps'] == 20
    with pytest.raises(ValueError, match='--refine-steps must be an int >= 0'):
        main(['reconstruct', str(src), '--checkpoint', str(work / 'model'), '--refine-steps', '-1'])
