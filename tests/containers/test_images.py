"""Issue 12 §5: a ``docker save`` tarball (legacy layout, and the OCI layout with gzip
layers that recent Docker writes) is scanned as an image: layer files get their path in
the container, whiteouts mark files a later layer deleted (still in the image), and the
image configuration (Env, Cmd, labels, build history) is scanned. Built with tarfile,
as ``docker save`` lays it out: no daemon needed."""

from __future__ import annotations

import gzip
import hashlib
import json
import subprocess

import pytest

from conftest import KEYSENTRY, new_key, run_keysentry, tar_bytes
from keysentry.model.key import fingerprint


def _image(keys: dict[str, str], oci: bool) -> tuple[bytes, list[str]]:
    base = tar_bytes(
        {
            "app/settings.py": f"API_KEY = '{keys['settings']}'\n".encode(),
            "app/old.env": f"DEEPSEEK_API_KEY={keys['deleted']}\n".encode(),
            "etc/app/conf.py": f"KEY = '{keys['opaque']}'\n".encode(),
        }
    )
    top = tar_bytes(
        {"app/.wh.old.env": b"", "etc/app/.wh..wh..opq": b"", "app/main.py": b"run()\n"}
    )
    config = json.dumps(
        {
            "config": {
                "Env": [f"DEEPSEEK_API_KEY={keys['env']}"],
                "Cmd": ["python", "main.py"],
                "Labels": {"maintainer": "ops"},
            },
            "history": [{"created_by": f"ARG TOKEN={keys['arg']}"}],
        }
    ).encode()
    layers = [gzip.compress(base), gzip.compress(top)] if oci else [base, top]
    files: dict[str, bytes] = {}
    names = []
    for layer in layers:
        digest = hashlib.sha256(layer).hexdigest()
        name = f"blobs/sha256/{digest}" if oci else f"{digest[:12]}/layer.tar"
        files[name] = layer
        names.append(name)
    config_name = "blobs/sha256/" + hashlib.sha256(config).hexdigest() if oci else "config.json"
    files[config_name] = config
    files["manifest.json"] = json.dumps(
        [{"Config": config_name, "RepoTags": ["app:1"], "Layers": names}]
    ).encode()
    if oci:
        files["oci-layout"] = b'{"imageLayoutVersion": "1.0.0"}'
    return tar_bytes(files), names


@pytest.mark.parametrize("oci", [False, True], ids=["docker-save", "oci-layout"])
def test_docker_save_piped_to_scan(oci: bool) -> None:
    keys = {name: new_key() for name in ("settings", "deleted", "opaque", "env", "arg")}
    tarball, layers = _image(keys, oci)
    # what `docker save app:1 | keysentry scan -` does
    proc = subprocess.run(
        [*KEYSENTRY, "scan", "-", "--format", "json"],
        input=tarball,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    found = {f["fingerprint"]: f for f in report["findings"]}
    assert set(found) == {fingerprint(k) for k in keys.values()}
    settings = found[fingerprint(keys["settings"])]
    assert settings["path"].endswith(f"!{layers[0]}!app/settings.py")
    assert settings["image_path"] == "/app/settings.py"
    assert "image_note" not in settings
    for name, where in (("deleted", "/app/old.env"), ("opaque", "/etc/app/conf.py")):
        finding = found[fingerprint(keys[name])]
        assert finding["image_path"] == where
        assert finding["image_note"] == "deleted in a later layer, still in the image"
    for name in ("env", "arg"):  # the image configuration, scanned as the JSON it is
        assert "image_path" not in found[fingerprint(keys[name])]
    assert report["stats"]["container_images"] == 1


def test_a_plain_tar_has_no_image_fields(tmp_path) -> None:
    key = new_key()
    (tmp_path / "src.tar").write_bytes(tar_bytes({"app/settings.py": f"K = '{key}'\n".encode()}))
    proc = run_keysentry("scan", str(tmp_path / "src.tar"), "--format", "json")
    [finding] = json.loads(proc.stdout)["findings"]
    assert "image_path" not in finding and "image_note" not in finding


def _scan_image(tarball: bytes, *args: str) -> tuple[int, str, bytes]:
    proc = subprocess.run(
        [*KEYSENTRY, "scan", "-", "--no-color", *args],
        input=tarball,
        capture_output=True,
        timeout=120,
        check=False,
    )
    return proc.returncode, proc.stdout.decode(), proc.stderr


@pytest.mark.parametrize("fmt", ["text", "markdown", "github", "junit", "gitlab", "sarif"])
def test_every_format_says_where_in_the_image_and_that_it_was_deleted(fmt: str) -> None:
    """Issue 12 gap 4: not only JSON carries ``image_path`` and ``image_note``."""
    keys = {name: new_key() for name in ("settings", "deleted", "opaque", "env", "arg")}
    tarball, _ = _image(keys, oci=True)
    code, out, stderr = _scan_image(tarball, "--format", fmt)
    assert code == 1, stderr
    if fmt == "markdown":
        out = out.replace("\\", "")  # markdown escapes punctuation in table cells
    deleted = "/app/old.env in the image (deleted in a later layer, still in the image)"
    assert deleted in out
    assert "/app/settings.py in the image" in out
    assert "/app/settings.py in the image (" not in out  # not deleted: no note
    if fmt == "sarif":
        results = json.loads(out)["runs"][0]["results"]
        by_print = {r["properties"]["fingerprint"]: r for r in results}
        props = by_print[fingerprint(keys["deleted"])]["properties"]
        assert props["imagePath"] == "/app/old.env"
        assert props["imageNote"] == "deleted in a later layer, still in the image"
        assert deleted in by_print[fingerprint(keys["deleted"])]["message"]["text"]
        assert "imageNote" not in by_print[fingerprint(keys["settings"])]["properties"]
