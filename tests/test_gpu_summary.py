"""benchmarks/gpu_dcgan_summary.py tables what the releases' manifests say, and benchmarks/gpu_dcgan.sh parses."""
import importlib.util
import json
import shutil
import subprocess

import pytest

from labkit.config import ROOT
from labkit.tools.manifest import FIGURES


def _summary():
    spec = importlib.util.spec_from_file_location("gpu_dcgan_summary", ROOT / "benchmarks" / "gpu_dcgan_summary.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["dcgan", "dcgan_augment_ema"])
def test_each_row_is_its_manifest(name):
    folder = ROOT / "weights" / name
    manifest = json.loads((folder / "manifest.json").read_text())
    rows = _summary().rows(folder)
    networks = [manifest.get("generator", "net_G")] + (["net_G"] if "net_G" in manifest["figures"] else [])
    assert len(rows) == len(networks)  # the shipped network, then G itself where an average shipped
    for row, network, figures in zip(rows, networks, [manifest["figures"], manifest["figures"].get("net_G")]):
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[5] == network
        assert [float(c) for c in cells[6:12]] == pytest.approx(
            [figures["samples"][k] for k in FIGURES], abs=5e-4)
        assert cells[12] == f"{sum(figures['targets_met'].values())} of 6"
    first = [c.strip() for c in rows[0].strip("|").split("|")]
    assert first[:3] == [name, str(manifest["epochs"]), f"{manifest['generator_updates']:,}"]


def test_a_folder_without_a_manifest_is_one_line(tmp_path):
    with pytest.raises(SystemExit) as e:
        _summary().main([str(tmp_path)])
    assert str(tmp_path / "manifest.json") in str(e.value) and "\n" not in str(e.value)


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")
def test_the_gpu_script_parses():
    subprocess.run(["bash", "-n", str(ROOT / "benchmarks" / "gpu_dcgan.sh")], check=True)
