"""Issue 12 §5, gap 2: an OCI image layout with only ``index.json`` (no docker
``manifest.json``), as a folder and as a tar, built at run time by real tools: ``umoci``
(Debian) makes the image layer by layer (a file, then a layer that deletes one: umoci
writes the whiteout) and sets its configuration, ``skopeo`` copies it with zstd layers,
and a nested image index (index.json -> index -> manifest) is laid by hand per the OCI
image-spec (image-layout.md, image-index.md)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from conftest import new_key, run_keysentry
from keysentry.model.key import fingerprint

pytestmark = pytest.mark.skipif(
    shutil.which("umoci") is None or shutil.which("skopeo") is None,
    reason="umoci and skopeo come from Debian (.ci/run installs them)",
)
DELETED = "deleted in a later layer, still in the image"
INDEX_TYPE = "application/vnd.oci.image.index.v1+json"


def _run(*args: str | Path, cwd: Path) -> None:
    subprocess.run([str(a) for a in args], cwd=cwd, check=True, capture_output=True, timeout=120)


def _umoci_image(base: Path, keys: dict[str, str]) -> Path:
    """A layout ``oci`` whose image ``app`` has two layers and a key in its Env."""
    rootless = ["--rootless"] if os.geteuid() != 0 else []
    _run("umoci", "init", "--layout", "oci", cwd=base)
    _run("umoci", "new", "--image", "oci:app", cwd=base)
    _run("umoci", "unpack", *rootless, "--image", "oci:app", "bundle", cwd=base)
    app = base / "bundle" / "rootfs" / "app"
    app.mkdir(parents=True)
    (app / "settings.py").write_text(f"API_KEY = '{keys['settings']}'\n")
    (app / "old.env").write_text(f"DEEPSEEK_API_KEY={keys['deleted']}\n")
    _run("umoci", "repack", "--image", "oci:app", "bundle", cwd=base)
    shutil.rmtree(base / "bundle")
    _run("umoci", "unpack", *rootless, "--image", "oci:app", "bundle", cwd=base)
    (app / "old.env").unlink()  # the next layer holds its whiteout
    _run("umoci", "repack", "--image", "oci:app", "bundle", cwd=base)
    _run("umoci", "config", "--image", "oci:app", f"--config.env=TOKEN={keys['env']}", cwd=base)
    _run("umoci", "gc", "--layout", "oci", cwd=base)
    return base / "oci"


def _nest_index(layout: Path) -> None:
    """index.json -> an image index blob -> the image manifest (image-spec allows nesting)."""
    inner = (layout / "index.json").read_bytes()
    digest = hashlib.sha256(inner).hexdigest()
    (layout / "blobs" / "sha256" / digest).write_bytes(inner)
    outer = {
        "schemaVersion": 2,
        "mediaType": INDEX_TYPE,
        "manifests": [{"mediaType": INDEX_TYPE, "digest": f"sha256:{digest}", "size": len(inner)}],
    }
    (layout / "index.json").write_text(json.dumps(outer))


def _tar_folder(layout: Path) -> Path:
    tarball = layout.with_suffix(".tar")
    with tarfile.open(tarball, "w") as archive:
        for path in sorted(layout.rglob("*")):
            archive.add(path, arcname=str(path.relative_to(layout)), recursive=False)
    return tarball


def _scan(path: Path) -> dict:
    proc = run_keysentry("scan", path.name, "--format", "json", cwd=path.parent, timeout=120)
    assert proc.returncode == 1, proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def layouts(tmp_path_factory) -> tuple[dict[str, str], dict[str, Path]]:
    base = tmp_path_factory.mktemp("oci")
    keys = {name: new_key() for name in ("settings", "deleted", "env")}
    gzip_layout = _umoci_image(base, keys)
    _run(
        "skopeo", "copy", "--dest-compress-format", "zstd", "oci:oci:app", "oci:zstd:app", cwd=base
    )
    nested = base / "nested"
    shutil.copytree(gzip_layout, nested)
    _nest_index(nested)
    found = {"gzip": gzip_layout, "zstd": base / "zstd", "nested": nested}
    for layout in list(found.values()):
        assert not (layout / "manifest.json").exists()
    return keys, found


@pytest.mark.parametrize("form", ["folder", "tar"])
@pytest.mark.parametrize("layers", ["gzip", "zstd", "nested"])
def test_oci_layout_with_only_index_json(layouts, layers: str, form: str) -> None:
    keys, found = layouts
    layout = found[layers]
    target = layout if form == "folder" else _tar_folder(layout)
    report = _scan(target)
    by_print = {f["fingerprint"]: f for f in report["findings"]}
    assert set(by_print) == {fingerprint(k) for k in keys.values()}
    settings = by_print[fingerprint(keys["settings"])]
    blob = settings["path"].split("!")[0 if form == "folder" else 1]
    assert blob.startswith(("blobs/sha256/", f"{layout.name}/blobs/sha256/"))
    if form == "tar":
        assert settings["path"].startswith(target.name + "!blobs/sha256/")
    assert settings["path"].endswith("!app/settings.py")
    assert settings["decoded_from"][-2:] == ["gzip" if layers != "zstd" else "zstd", "tar"]
    assert settings["image_path"] == "/app/settings.py"
    assert "image_note" not in settings
    deleted = by_print[fingerprint(keys["deleted"])]
    assert deleted["image_path"] == "/app/old.env"
    assert deleted["image_note"] == DELETED
    assert "image_path" not in by_print[fingerprint(keys["env"])]  # the configuration blob
    assert report["stats"]["container_images"] == 1
    assert report["errors"] == []


def test_a_folder_of_blobs_without_index_json_is_no_image(layouts, tmp_path) -> None:
    _, found = layouts
    copy = tmp_path / "copy"
    shutil.copytree(found["gzip"], copy)
    (copy / "index.json").unlink()
    report = _scan(copy)
    assert all("image_path" not in f for f in report["findings"])
    assert len(report["findings"]) == 3
