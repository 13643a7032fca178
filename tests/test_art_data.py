"""Abstract art data, offline: the synthetic set, a test-built Kaggle-layout zip, bad input, the cache,
and the Kaggle token / download fallback (with a fake kaggle package; no real token is ever read)."""
import io
import os
import sys
import types
import zipfile
from pathlib import Path

import pytest
import torch
from PIL import Image

import labkit
from labkit.data import art, images
from labkit.data import DataError

PREFIX = "Abstract_gallery/Abstract_gallery/"  # the layout inside Kaggle's abstract-art-gallery.zip


@pytest.fixture(autouse=True)
def no_kaggle_credentials(monkeypatch, tmp_path):
    """Every test runs with an empty HOME, no KAGGLE_* variables and data under tmp_path."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("LABKIT_DATA", str(tmp_path / "data"))
    for name in list(os.environ):
        if name.startswith("KAGGLE_"):
            monkeypatch.delenv(name)
    return home



# --- a small archive with the Kaggle layout ---------------------------------------------------------

def _encode(img: Image.Image, fmt: str) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt)
    return buf.getvalue()


def _bands() -> Image.Image:
    """256x128: blue | green (twice as wide) | red. Resize-then-centre-crop keeps only green."""
    img = Image.new("RGB", (256, 128), (0, 255, 0))
    img.paste((0, 0, 255), (0, 0, 64, 128))
    img.paste((255, 0, 0), (192, 0, 256, 128))
    return img


def kaggle_members() -> dict[str, bytes]:
    """Seven files: five decodable images of assorted modes and sizes, one garbage, one truncated JPEG."""
    palette = Image.new("P", (30, 70), 0)
    palette.putpalette([0, 0, 255] + [0, 0, 0] * 255)
    good_jpeg = _encode(Image.new("RGB", (120, 90), (200, 30, 40)), "JPEG")
    return {
        "Abstract_image_1.jpg": _encode(Image.new("RGB", (96, 64), (255, 0, 0)), "JPEG"),  # wide RGB JPEG
        "Abstract_image_2.jpg": _encode(Image.new("L", (50, 130), 128), "JPEG"),  # tall, grayscale, < 64 wide
        "Abstract_image_3.png": _encode(Image.new("RGBA", (40, 40), (255, 0, 0, 0)), "PNG"),  # fully transparent
        "Abstract_image_4.png": _encode(palette, "PNG"),  # palette image
        "Abstract_image_5.png": _encode(_bands(), "PNG"),
        "Abstract_image_6.jpg": b"this is not a JPEG at all",
        "Abstract_image_7.jpg": good_jpeg[: len(good_jpeg) // 2],  # cut off half way
    }


def make_kaggle_zip(path: Path, members: dict[str, bytes] | None = None, *, prefix: str = PREFIX,
                    compression: int = zipfile.ZIP_DEFLATED) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression) as zf:
        zf.writestr("Abstract_gallery/", b"")  # folder entries, as in Kaggle's zip
        for name, blob in (kaggle_members() if members is None else members).items():
            zf.writestr(prefix + name, blob)
    return path


def check_kaggle_images(x: torch.Tensor) -> None:
    """The five decodable images of kaggle_members(), as float (N, 3, 64, 64) in [-1, 1], in file order."""
    assert x.shape == (5, 3, 64, 64) and x.dtype == torch.float32
    assert x.min() >= -1 and x.max() <= 1
    red, gray, transparent, palette, bands = x
    assert torch.allclose(red.mean((1, 2)), torch.tensor([1.0, -1.0, -1.0]), atol=0.05)  # JPEG is lossy
    assert torch.equal(gray[0], gray[1]) and torch.equal(gray[1], gray[2])  # grayscale -> 3 equal channels
    assert abs(gray.mean().item() - (128 / 127.5 - 1)) < 0.02
    assert torch.equal(transparent, torch.ones(3, 64, 64))  # transparency composited on white
    assert torch.equal(palette, torch.tensor([-1.0, -1.0, 1.0])[:, None, None].expand(3, 64, 64))
    g = bands.mean((1, 2))  # a centre crop, not a squash: the blue and red bands are cut away
    assert g[1] > 0.9 and g[0] < -0.9 and g[2] < -0.9


def test_kaggle_layout_zip_loads_with_bad_files_skipped_and_counted(tmp_path, capsys):
    zip_path = make_kaggle_zip(tmp_path / "abstract-art-gallery.zip")
    x = labkit.load_abstract_art(zip_path)
    check_kaggle_images(x)
    err = capsys.readouterr().err.strip().splitlines()
    warning = [line for line in err if "skipped" in line]
    assert len(warning) == 1
    assert str(zip_path) in warning[0] and "skipped 2 of 7 images" in warning[0]
    assert "Abstract_image_6.jpg" in warning[0]


def test_a_folder_gives_the_same_images_as_the_zip(tmp_path, capsys):
    folder = tmp_path / "gallery"
    for name, blob in kaggle_members().items():
        (folder / "sub").mkdir(parents=True, exist_ok=True)
        (folder / "sub" / name).write_bytes(blob)
    (folder / "notes.txt").write_text("not an image, ignored")
    x = labkit.load_abstract_art(str(folder))
    check_kaggle_images(x)
    assert torch.equal(x, labkit.load_abstract_art(make_kaggle_zip(tmp_path / "a.zip")))
    assert images.images_from_folder(folder).dtype == torch.uint8  # the undecorated helper keeps uint8


def test_other_sizes():
    x = images.images_from_zip(make_kaggle_zip(Path(os.environ["LABKIT_DATA"]) / "k.zip"), size=32)
    assert x.shape == (5, 3, 32, 32) and x.dtype == torch.uint8


# --- bad input: one clear line naming the file ------------------------------------------------------

@pytest.mark.parametrize("evil", ["../evil.png", "Abstract_gallery/../../evil.png", "/tmp/evil.png",
                                  "C:/evil.png", "..\\evil.png"])
def test_zip_slip_member_is_rejected_before_anything_is_written(tmp_path, evil):
    zip_path = tmp_path / "slip.zip"
    with zipfile.ZipFile(zip_path, "w") as zf:
        zf.writestr(PREFIX + "ok.png", _encode(Image.new("RGB", (8, 8)), "PNG"))
        zf.writestr(zipfile.ZipInfo(evil), b"payload")
    target = tmp_path / "out" / "inner"
    with pytest.raises(DataError, match=r"slip\.zip: archive member .*evil\.png.* outside") as info:
        images.extract_zip(zip_path, target)
    assert "\n" not in str(info.value)
    assert not (tmp_path / "out").exists() and not (tmp_path / "evil.png").exists()
    with pytest.raises(DataError, match="outside"):
        labkit.load_abstract_art(zip_path)


def test_truncated_zip_names_the_file(tmp_path):
    blob = make_kaggle_zip(tmp_path / "full.zip").read_bytes()
    cut = tmp_path / "cut.zip"
    cut.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(DataError, match=r"cut\.zip: corrupt or truncated zip archive") as info:
        labkit.load_abstract_art(cut)
    assert "\n" not in str(info.value)


def test_corrupt_member_data_names_the_file(tmp_path):
    png = _encode(Image.effect_noise((64, 64), 50).convert("RGB"), "PNG")
    zip_path = make_kaggle_zip(tmp_path / "crc.zip", {"Abstract_image_1.png": png}, compression=zipfile.ZIP_STORED)
    blob = bytearray(zip_path.read_bytes())
    at = blob.find(png[200:232])
    blob[at:at + 32] = bytes(32)  # zero some stored bytes: the CRC check fails while unpacking
    zip_path.write_bytes(bytes(blob))
    with pytest.raises(DataError, match=r"crc\.zip: corrupt or truncated zip archive"):
        labkit.load_abstract_art(zip_path)


def test_empty_folder_missing_path_and_wrong_file(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("no images here")
    with pytest.raises(DataError, match=rf"{empty}: no images .* in this folder"):
        labkit.load_abstract_art(empty)
    missing = tmp_path / "nowhere"
    with pytest.raises(DataError, match=rf"{missing}: no such file or folder"):
        labkit.load_abstract_art(missing)
    with pytest.raises(DataError, match=rf"{missing}: no such folder"):
        images.images_from_folder(missing)
    with pytest.raises(DataError, match="no such file or folder.*'kaggle' / 'synthetic'"):
        labkit.load_abstract_art("kagle")  # a typo is reported as a path that does not exist
    text = tmp_path / "images.txt"
    text.write_text("hello")
    with pytest.raises(DataError, match=rf"{text}: not a folder or a \.zip"):
        labkit.load_abstract_art(text)
    empty_zip = make_kaggle_zip(tmp_path / "nothing.zip", {})
    with pytest.raises(DataError, match=r"nothing\.zip: no images .* in this archive"):
        labkit.load_abstract_art(empty_zip)


def test_folder_where_nothing_decodes(tmp_path, capsys):
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(b"garbage")
    (folder / "b.png").write_bytes(b"\x89PNG garbage")
    with pytest.raises(DataError, match=rf"{folder}: none of its 2 image files could be decoded"):
        labkit.load_abstract_art(folder)


# --- the Kaggle route: cache, download, fallback ----------------------------------------------------

def test_cache_hit_avoids_decoding_again(tmp_path, monkeypatch, capsys):
    root = tmp_path / "art"
    make_kaggle_zip(root / art.ART_ZIP)  # as if downloaded earlier: no token needed
    first = labkit.load_abstract_art("kaggle", root=root)
    check_kaggle_images(first)
    cache = root / "abstract_art_64.pt"
    assert cache.is_file()
    assert art.load_checkpoint(cache)["images"].dtype == torch.uint8  # stored compactly, weights_only
    capsys.readouterr()

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded the JPEGs again instead of using the cache")

    monkeypatch.setattr(images, "_decode_images", no_decoding)
    assert torch.equal(labkit.load_abstract_art("kaggle", root=root), first)
    assert capsys.readouterr().err == ""  # a cache hit is silent


def test_corrupt_cache_is_rebuilt(tmp_path, capsys):
    root = tmp_path / "art"
    make_kaggle_zip(root / art.ART_ZIP)
    cache = root / "abstract_art_64.pt"
    cache.write_bytes(b"half a file")
    x = labkit.load_abstract_art("kaggle", root=root)
    check_kaggle_images(x)
    assert f"{cache}: unreadable or wrong-shaped art cache" in capsys.readouterr().err
    assert art.load_checkpoint(cache)["images"].shape == (5, 3, 64, 64)


def test_no_token_falls_back_to_synthetic_with_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "kaggle", None)  # importing kaggle would fail: we must not get that far
    x = labkit.load_abstract_art("kaggle", n_synthetic=6, root=tmp_path / "art")
    assert torch.equal(x, labkit.synthetic_abstract_art(6))
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    line = err[0]
    assert "no Kaggle token found" in line and "https://www.kaggle.com/settings" in line
    assert "~/.kaggle/kaggle.json" in line and "chmod 600" in line and "6 synthetic" in line
    assert not (tmp_path / "art" / "abstract_art_64.pt").exists()


def test_full_profile_means_kaggle_and_quick_means_synthetic(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "kaggle", None)
    monkeypatch.setenv("LABKIT_PROFILE", "full")
    assert labkit.load_abstract_art(n_synthetic=3).shape == (3, 3, 64, 64)
    assert "no Kaggle token found" in capsys.readouterr().err
    monkeypatch.setenv("LABKIT_PROFILE", "quick")
    quick = labkit.get_profile()
    x = labkit.load_abstract_art()
    assert x.shape == (quick.art_images, 3, 64, 64)
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("setup, expected", [
    ({}, None),
    ({"env": {"KAGGLE_USERNAME": "me"}}, None),  # a user name alone is not a credential
    ({"env": {"KAGGLE_USERNAME": "me", "KAGGLE_KEY": "s3cr3tvalue"}}, "$KAGGLE_USERNAME/$KAGGLE_KEY"),
    ({"file": ".kaggle/kaggle.json"}, ".kaggle/kaggle.json"),
    ({"file": "elsewhere/kaggle.json", "env": {"KAGGLE_CONFIG_DIR": "elsewhere"}}, "elsewhere/kaggle.json"),
    ({"file": ".kaggle/access_token", "min_version": (1, 8)}, ".kaggle/access_token"),
    ({"env": {"KAGGLE_API_TOKEN": "s3cr3tvalue"}, "min_version": (1, 8)}, "$KAGGLE_API_TOKEN"),
])
def test_token_detection_names_the_source_never_the_secret(no_kaggle_credentials, monkeypatch, setup, expected):
    home = no_kaggle_credentials
    if art._kaggle_version() < setup.get("min_version", ()):
        pytest.skip("this kaggle version does not read access tokens")
    for name, value in setup.get("env", {}).items():
        monkeypatch.setenv(name, str(home / value) if name == "KAGGLE_CONFIG_DIR" else value)
    if "file" in setup:
        (home / setup["file"]).parent.mkdir(parents=True, exist_ok=True)
        (home / setup["file"]).write_text('{"username": "me", "key": "s3cr3tvalue"}')
    found = art.kaggle_token_source()
    if expected is None:
        assert found is None
    else:
        assert found == (expected if expected.startswith("$") else str(home / expected))
        assert "s3cr3tvalue" not in found


def _fake_kaggle(monkeypatch, download):
    """Install a stand-in `kaggle` package whose KaggleApi prints like the real one and calls `download`."""
    class KaggleApi:
        def authenticate(self):
            print("Authentication banner that must not reach the user")

        def dataset_download_files(self, dataset, path=None, force=False, quiet=True, unzip=False):
            print(f"Dataset URL: https://www.kaggle.com/datasets/{dataset}")
            assert dataset == "bryanb/abstract-art-gallery" and not unzip
            download(Path(path))

    modules = {"kaggle": types.ModuleType("kaggle"), "kaggle.api": types.ModuleType("kaggle.api"),
               "kaggle.api.kaggle_api_extended": types.ModuleType("kaggle.api.kaggle_api_extended")}
    modules["kaggle.api.kaggle_api_extended"].KaggleApi = KaggleApi
    for name, module in modules.items():
        monkeypatch.setitem(sys.modules, name, module)


def test_download_unpack_decode_and_cache_with_a_fake_kaggle(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KAGGLE_USERNAME", "me")
    monkeypatch.setenv("KAGGLE_KEY", "s3cr3tvalue")
    _fake_kaggle(monkeypatch, lambda folder: make_kaggle_zip(folder / art.ART_ZIP))
    root = tmp_path / "art"
    check_kaggle_images(labkit.load_abstract_art("kaggle", root=root))
    out, err = capsys.readouterr()
    assert out == "" and "banner" not in err and "s3cr3tvalue" not in out + err
    assert sorted(p.name for p in root.iterdir()) == [art.ART_ZIP, "abstract_art_64.pt"]  # no leftovers


def test_download_failure_falls_back_without_leaking_the_key(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KAGGLE_USERNAME", "me")
    monkeypatch.setenv("KAGGLE_KEY", "s3cr3tvalue")

    def offline(folder):
        raise ConnectionError("Max retries exceeded (key=s3cr3tvalue)\nsecond line")

    _fake_kaggle(monkeypatch, offline)
    x = labkit.load_abstract_art("kaggle", n_synthetic=4, root=tmp_path / "art")
    assert torch.equal(x, labkit.synthetic_abstract_art(4))
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert out == "" and len(lines) == 1
    assert "could not download bryanb/abstract-art-gallery" in lines[0] and "ConnectionError" in lines[0]
    assert "$KAGGLE_USERNAME/$KAGGLE_KEY" in lines[0] and "s3cr3tvalue" not in err
    with pytest.raises(DataError, match="could not download"):
        labkit.download_abstract_art(tmp_path / "art")


def test_rejected_credential_is_one_line(tmp_path, monkeypatch, capsys):
    (Path(os.environ["HOME"]) / ".kaggle").mkdir()
    token = Path(os.environ["HOME"]) / ".kaggle" / "kaggle.json"
    token.write_text('{"username": "me", "key": "s3cr3tvalue"}')
    token.chmod(0o600)
    _fake_kaggle(monkeypatch, lambda folder: None)
    sys.modules["kaggle.api.kaggle_api_extended"].KaggleApi.authenticate = lambda self: exit(1)
    with pytest.raises(DataError, match=rf"Kaggle did not accept the credential in {token}: create a Kaggle API"):
        labkit.download_abstract_art(tmp_path / "art")
    assert capsys.readouterr().out == ""


# --- synthetic abstract art -------------------------------------------------------------------------

def test_synthetic_shape_range_and_determinism():
    x = labkit.synthetic_abstract_art(96, seed=0)
    assert x.shape == (96, 3, 64, 64) and x.dtype == torch.float32
    assert torch.isfinite(x).all() and x.min() >= -1 and x.max() <= 1
    assert x.min() < -0.9 and x.max() > 0.9  # uses the whole Tanh range
    assert torch.equal(x, labkit.synthetic_abstract_art(96, seed=0))
    assert not torch.allclose(x, labkit.synthetic_abstract_art(96, seed=1), atol=0.1)
    assert labkit.synthetic_abstract_art(5, size=32, seed=3).shape == (5, 3, 32, 32)
    assert torch.equal(labkit.load_abstract_art("synthetic", n_synthetic=7, seed=2),
                       labkit.synthetic_abstract_art(7, seed=2))
    with pytest.raises(ValueError, match="n and size must be positive"):
        labkit.synthetic_abstract_art(0)


def test_synthetic_images_are_varied_and_structured():
    x = labkit.synthetic_abstract_art(256, seed=0) * 0.5 + 0.5  # (N, 3, 64, 64) in [0, 1]
    flat = x.flatten(1)
    # no two paintings alike: the closest pair still differs by a clear margin (RMS per pixel)
    dist = torch.cdist(flat, flat) / flat.shape[1] ** 0.5
    dist.fill_diagonal_(float("inf"))
    assert dist.min() > 0.05
    # colour: each image has its own palette, so mean colours spread over the cube, and most images
    # are not grey (channels differ)
    means = x.mean((2, 3))  # (N, 3)
    assert means.std(0).min() > 0.08
    assert (means.max(1).values - means.min(1).values > 0.05).float().mean() > 0.7
    # structure: mostly smooth areas with some sharp edges (shapes). Pure noise would have its 99th
    # percentile step about 3.8x its median step; these images have far heavier tails.
    dx = (x[..., 1:] - x[..., :-1]).abs().amax(1).flatten(1)  # strongest channel step between neighbours
    median, p99 = torch.quantile(dx, torch.tensor([0.5, 0.99]), dim=1)  # (N,) each
    assert (median < 0.05).float().mean() > 0.95
    assert (p99 > 0.05).float().mean() > 0.9
    assert (p99 / median.clamp_min(1e-4)).median() > 5
    assert (x.std((1, 2, 3)) > 0.05).float().mean() > 0.9  # contrast within an image
