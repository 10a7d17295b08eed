"""A large repository split into object ranges across tasks: one result, the one an unsplit
``keysentry history`` gives, on a LocalCluster and through a worker killed mid-split."""

from __future__ import annotations

import json
import signal
import sys
import tempfile
import threading
import time

import pytest

from keysentry.audits import org
from keysentry.audits.org_cluster import ClusterSettings, plan_tasks
from keysentry.audits.org_split import parts_for, store_bytes
from keysentry.audits.org_task import CLONE_DIR_PREFIX, RepoSpec, TaskOptions
from keysentry.formats import FORMATS, RenderOptions
from keysentry.model.key import fingerprint
from keysentry.model.report import AUDITED
from org_support import (
    big_repository,
    descendants,
    history_places,
    org_history_places,
    start_cluster,
)

SPLIT = 2 * 1024 * 1024  # so that the 8 MiB test repository becomes several tasks


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    path = tmp_path_factory.mktemp("big") / "big"
    path.mkdir()
    return big_repository(path)


def _json(report) -> dict:
    return json.loads(FORMATS["json"](report, RenderOptions(command="org")))


def _check_same_as_history(big, report, location: str | None = None) -> None:
    report_json = _json(report)
    location = location or str(big.path)
    (outcome,) = [r for r in report_json["repositories"] if r["name"] == location]
    assert outcome["status"] == AUDITED and outcome["errors"] == []
    assert org_history_places(report_json, location) == history_places(big.history_json)
    assert {f["fingerprint"] for f in report_json["findings"]} == {fingerprint(k) for k in big.keys}
    # each history place once: nothing lost, nothing counted twice
    places = [
        (f["fingerprint"], f["path"], f["line"], f["source"], f.get("commit"))
        for f in report_json["findings"]
        if f["source"] != "file"
    ]
    assert len(places) == len(big.history_json["findings"])


def test_a_large_repository_is_split_and_merged_into_the_unsplit_result(big):
    size = store_bytes(str(big.path))
    parts = parts_for(size, SPLIT)
    assert parts >= 3  # the test repository is big enough to split
    plan = plan_tasks([RepoSpec(str(big.path))], SPLIT, workers=2)
    assert plan.split == [(0, parts)] and plan.batches == []
    report = org.audit_organisation(
        [RepoSpec(str(big.path))], TaskOptions(), ClusterSettings(workers=2, split_bytes=SPLIT)
    )
    _check_same_as_history(big, report)
    assert report.stats["object_ranges"] == parts
    assert report.stats["objects_scanned"] == big.history_json["stats"]["objects_scanned"]
    # not split (the default threshold is far above it): the same report
    whole = org.audit_organisation(
        [RepoSpec(str(big.path))], TaskOptions(), ClusterSettings(workers=2)
    )
    assert "object_ranges" not in whole.stats
    assert _json(whole)["findings"] == _json(report)["findings"]


@pytest.mark.parametrize("where", ["LocalCluster", "scheduler and two workers"])
def test_a_large_clone_url_is_cloned_once_then_split_like_a_local_repository(
    big, tmp_path, monkeypatch, where
):
    """A file:// URL (git's pack transport, as from a server): the plan task clones it
    into the worker's scratch folder, the parts read that clone (on a worker of the
    clone's host: with separately started workers, that is the restriction at work),
    the merge removes it."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # the forked workers' scratch
    monkeypatch.setenv("TMPDIR", str(scratch))  # the separately started workers' scratch
    url = big.path.as_uri()
    plan = plan_tasks([RepoSpec(url)], SPLIT, workers=2)
    assert plan.split == [(0, 0)]  # its size is known once cloned
    cluster = start_cluster(tmp_path) if where != "LocalCluster" else None
    address = cluster.address if cluster is not None else None
    try:
        report = org.audit_organisation(
            [RepoSpec(url)], TaskOptions(), ClusterSettings(address, 2, split_bytes=SPLIT)
        )
    finally:
        if cluster is not None:
            cluster.stop()
    _check_same_as_history(big, report, url)
    clone_store = store_bytes(str(big.path))  # a mirror holds what the original does, packed
    assert report.stats["object_ranges"] == parts_for(clone_store, SPLIT) >= 3
    assert report.repositories[0].repository.remote == url
    assert not [p for p in scratch.iterdir() if p.name.startswith(CLONE_DIR_PREFIX)]  # removed
    whole = org.audit_organisation(
        [RepoSpec(url)], TaskOptions(), ClusterSettings(workers=2, split_bytes=None)
    )
    assert "object_ranges" not in whole.stats
    assert _json(whole)["findings"] == _json(report)["findings"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="watches /proc")
def test_a_worker_killed_during_a_split_repository_loses_nothing(big, tmp_path):
    """A scheduler and two workers: one is killed while it runs a task of the split
    repository (its forked audit process is alive); Dask runs that task again."""
    cluster = start_cluster(tmp_path)
    victim = cluster.workers[0]
    killed = threading.Event()
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            if descendants(victim.pid):  # a task of the split repository is running there
                victim.send_signal(signal.SIGKILL)
                killed.set()
                return
            time.sleep(0.001)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        report = org.audit_organisation(
            [RepoSpec(str(big.path))],
            TaskOptions(),
            ClusterSettings(cluster.address, split_bytes=SPLIT),
        )
    finally:
        stop.set()
        watcher.join()
        cluster.stop()
    assert killed.is_set(), "the victim worker ran no task of the split repository"
    assert victim.wait(10) == -signal.SIGKILL
    _check_same_as_history(big, report)
    assert report.repositories[0].worker.endswith(f":{cluster.workers[1].pid}")
