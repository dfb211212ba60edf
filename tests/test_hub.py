# Copyright 2026 The diffusers-freqca authors. All rights reserved.
# Licensed under the Apache License, Version 2.0.
"""FreqCa configs as files: local folders, a pre-populated Hub cache read offline, and a local fake Hub endpoint.

Nothing here reaches the network. The Hub cache is built with huggingface_hub's own layout
(`models--{org}--{name}/{blobs,refs,snapshots}`) and read through `hf_hub_download` with `HF_HUB_OFFLINE=1`. Uploads
go to `FakeHub`, a small HTTP server on 127.0.0.1 that answers the Hub API calls `huggingface_hub` makes for
`create_repo`, `upload_file`, `create_commit` and `hf_hub_download`; huggingface_hub itself runs unmodified, pointed
at it through `HF_ENDPOINT`.
"""

import base64
import contextlib
import hashlib
import importlib
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlparse

import huggingface_hub
import pytest
import torch
from huggingface_hub import constants as hub_constants
from parameterized import parameterized

import diffusers_freqca
from diffusers_freqca import FreqCaConfig, full_steps
from diffusers_freqca.hub import (
    CONFIG_NAME,
    FORMAT_VERSION,
    config_from_json_dict,
    config_to_json_dict,
    load_config,
    push_config_to_hub,
)


CUSTOM = FreqCaConfig(
    cache_interval=9,
    disable_cache_before_step=2,
    disable_cache_after_step=48,
    full_compute_steps=(30, 20),
    decomposition="fft",
    cutoff_ratio=0.25,
    low_freq_order=1,
    high_freq_order=2,
    predictor="taylor",
    hermite_scale=0.5,
    spacing="sigma",
    crf_form="hidden_states",
    cache_dtype=torch.bfloat16,
    grid_fallback="error",
)


def _file_content(**changes):
    data = config_to_json_dict(FreqCaConfig())
    data.update(changes)
    return data


def _write_json(folder, data, name=CONFIG_NAME):
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, name)
    with open(path, "w", encoding="utf-8") as file:
        json.dump(data, file)
    return path


# ----------------------------------------------------------------------------------------------------------- local


def test_save_and_load_round_trip_keeps_every_field(tmp_path):
    path = CUSTOM.save_pretrained(tmp_path / "config")
    assert path == os.path.join(tmp_path / "config", CONFIG_NAME)
    loaded = FreqCaConfig.from_pretrained(tmp_path / "config")
    assert loaded == CUSTOM
    assert loaded.cache_dtype is torch.bfloat16 and loaded.full_compute_steps == (20, 30)


def test_file_format(tmp_path):
    with open(CUSTOM.save_pretrained(tmp_path), encoding="utf-8") as file:
        data = json.load(file)
    assert list(data)[:3] == ["_class_name", "format_version", "_diffusers_freqca_version"]
    assert data["_class_name"] == "FreqCaConfig"
    assert data["format_version"] == FORMAT_VERSION == 2
    assert data["_diffusers_freqca_version"] == diffusers_freqca.__version__
    fields = {key: value for key, value in data.items() if not key.startswith("_") and key != "format_version"}
    assert fields == CUSTOM.to_dict()
    assert data["cache_dtype"] == "bfloat16" and data["full_compute_steps"] == [20, 30]


def test_load_from_json_file_and_subfolder(tmp_path):
    CUSTOM.save_pretrained(tmp_path / "repo" / "freqca")
    assert FreqCaConfig.from_pretrained(str(tmp_path / "repo"), subfolder="freqca") == CUSTOM
    assert FreqCaConfig.from_pretrained(str(tmp_path / "repo" / "freqca" / CONFIG_NAME)) == CUSTOM


def test_missing_fields_take_defaults(tmp_path):
    _write_json(tmp_path, {"_class_name": "FreqCaConfig", "format_version": 2, "cache_interval": 4})
    assert FreqCaConfig.from_pretrained(tmp_path) == FreqCaConfig(cache_interval=4)


def test_version_1_files_keep_their_consecutive_warmup(tmp_path):
    # Written before `warmup_stride` existed, when the warm-up was on consecutive steps: such a file keeps the schedule
    # it was written with, whatever the reader's default.
    written = config_to_json_dict(FreqCaConfig.from_preset("flux.1-dev", "paper"))
    written["format_version"] = 1
    del written["warmup_stride"]
    _write_json(tmp_path, written)
    loaded = FreqCaConfig.from_pretrained(tmp_path)
    assert loaded.warmup_stride == 1 and loaded == FreqCaConfig.from_preset("flux.1-dev", "paper")
    assert full_steps(50, loaded) == [0, 1, 2, 8, 14, 20, 26, 32, 38, 44]
    _write_json(tmp_path, {"_class_name": "FreqCaConfig", "format_version": 1, "cache_interval": 6})
    assert full_steps(50, FreqCaConfig.from_pretrained(tmp_path)) == [0, 1, 4, 10, 16, 22, 28, 34, 40, 46]
    # A version 1 file that names the field (hand-written) keeps what it says.
    _write_json(tmp_path, {"_class_name": "FreqCaConfig", "format_version": 1, "warmup_stride": 3})
    assert FreqCaConfig.from_pretrained(tmp_path).warmup_stride == 3


def test_a_stored_split_with_equal_orders_loads_as_it_ran(tmp_path):
    # Such configs split nothing and are refused when built now; a file written before loads as the config it ran as,
    # with a warning, and runs bit for bit like it.
    written = config_to_json_dict(FreqCaConfig(cache_interval=3))
    written["decomposition"] = "dct"
    _write_json(tmp_path, written)
    with pytest.warns(UserWarning, match="split nothing when this file was written"):
        loaded = FreqCaConfig.from_pretrained(tmp_path)
    assert loaded == FreqCaConfig(cache_interval=3)
    with pytest.raises(ValueError, match="would change nothing"):
        FreqCaConfig.from_dict(written)


@pytest.mark.parametrize(
    ("data", "pattern"),
    [
        pytest.param(_file_content(cache_intervall=6), "cache_intervall", id="unknown_key"),
        pytest.param(
            {"_class_name": "FreqCaConfig", "cache_interval": 6}, "format_version", id="missing_format_version"
        ),
        pytest.param(_file_content(format_version=3), "format_version` is 3", id="too_new_format_version"),
        pytest.param(_file_content(format_version="1"), "format_version", id="format_version_as_str"),
        pytest.param(_file_content(format_version=True), "format_version", id="format_version_bool"),
        pytest.param(_file_content(_class_name="FasterCacheConfig"), "FasterCacheConfig", id="wrong_class_name"),
        pytest.param({"format_version": 1}, "_class_name", id="missing_class_name"),
        pytest.param(_file_content(cache_interval=0), "cache_interval", id="invalid_interval"),
        pytest.param(_file_content(cache_interval="6"), "cache_interval", id="interval_as_str"),
        pytest.param(_file_content(cache_dtype="int8"), "int8", id="invalid_dtype"),
        pytest.param(_file_content(decomposition="wavelet"), "wavelet", id="invalid_choice"),
        pytest.param([1, 2], "JSON object", id="not_an_object"),
    ],
)
def test_bad_file_content_raises_value_error_naming_it(data, pattern, tmp_path):
    path = _write_json(tmp_path, data)
    with pytest.raises(ValueError, match=pattern) as error:
        FreqCaConfig.from_pretrained(tmp_path)
    assert path in str(error.value)  # the message says which file


def test_invalid_json(tmp_path):
    (tmp_path / CONFIG_NAME).write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match="not valid JSON"):
        FreqCaConfig.from_pretrained(tmp_path)


def test_config_from_json_dict_direct():
    assert config_from_json_dict(config_to_json_dict(CUSTOM)) == CUSTOM


def test_missing_file_and_bad_locations(tmp_path):
    with pytest.raises(FileNotFoundError, match=CONFIG_NAME):
        FreqCaConfig.from_pretrained(tmp_path)
    with pytest.raises(FileNotFoundError, match="neither an existing folder"):
        FreqCaConfig.from_pretrained(str(tmp_path / "does" / "not" / "exist"))


@parameterized.expand(
    [
        ("subfolder", {"subfolder": "../outside"}, "subfolder"),
        ("subfolder_type", {"subfolder": 3}, "subfolder"),
        ("revision", {"revision": ""}, "revision"),
        ("local_files_only", {"local_files_only": "yes"}, "local_files_only"),
        ("force_download", {"force_download": 1}, "force_download"),
        ("contradiction", {"local_files_only": True, "force_download": True}, "contradicts"),
        ("token", {"token": 5}, "token"),
    ]
)
def test_load_argument_validation(_, kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        load_config("org/name", **kwargs)


def test_save_argument_validation(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="is a file"):
        FreqCaConfig().save_pretrained(tmp_path / "file")
    with pytest.raises(ValueError, match="only apply with `push_to_hub=True`"):
        FreqCaConfig().save_pretrained(tmp_path, repo_id="me/x")
    with pytest.raises(ValueError, match="repo_idd"):
        FreqCaConfig().save_pretrained(tmp_path, push_to_hub=True, repo_idd="me/x")
    with pytest.raises(ValueError, match="push_to_hub"):
        FreqCaConfig().save_pretrained(tmp_path, push_to_hub="yes")
    with pytest.raises(ValueError, match="not a valid Hub repository id"):
        FreqCaConfig().save_pretrained(tmp_path / "has spaces", push_to_hub=True)
    assert not os.path.exists(tmp_path / "has spaces")
    assert not os.path.exists(tmp_path / CONFIG_NAME)  # nothing written on bad arguments


# ------------------------------------------------------------------------------------------------- Hub cache, offline


def populate_hub_cache(cache_dir, repo_id, files, commit, refs=("main",)):
    r"""
    Puts `files` ({path in repo: bytes}) into a Hub cache the way `hf_hub_download` stores them: content-addressed
    blobs, one snapshot folder per commit whose files link to the blobs, and `refs/<name>` holding the commit hash.
    """
    repo_folder = os.path.join(cache_dir, "models--" + repo_id.replace("/", "--"))
    os.makedirs(os.path.join(repo_folder, "blobs"), exist_ok=True)
    os.makedirs(os.path.join(repo_folder, "refs"), exist_ok=True)
    for path, content in files.items():
        # Git object id of a regular (non-LFS) file, which is the blob name the Hub's ETag gives such files.
        blob_id = hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()
        blob = os.path.join(repo_folder, "blobs", blob_id)
        with open(blob, "wb") as file:
            file.write(content)
        pointer = os.path.join(repo_folder, "snapshots", commit, path)
        os.makedirs(os.path.dirname(pointer), exist_ok=True)
        os.symlink(os.path.relpath(blob, os.path.dirname(pointer)), pointer)
    for ref in refs:
        with open(os.path.join(repo_folder, "refs", ref), "w") as file:
            file.write(commit)


def _json_bytes(config):
    return json.dumps(config_to_json_dict(config)).encode()


@pytest.fixture
def offline(monkeypatch):
    # huggingface_hub reads HF_HUB_OFFLINE once, into `constants.HF_HUB_OFFLINE`, which `is_offline_mode()` returns
    # and every HTTP request checks: set both.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", True)
    assert huggingface_hub.is_offline_mode()


COMMIT_A, COMMIT_B = "a" * 40, "b" * 40


def test_offline_reads_the_hub_cache(tmp_path, offline):
    populate_hub_cache(tmp_path, "org/model", {CONFIG_NAME: _json_bytes(CUSTOM)}, COMMIT_A)
    assert FreqCaConfig.from_pretrained("org/model", cache_dir=tmp_path) == CUSTOM


def test_offline_resolves_revisions_through_refs(tmp_path, offline):
    old, new = FreqCaConfig(cache_interval=6), FreqCaConfig(cache_interval=9)
    populate_hub_cache(tmp_path, "org/model", {CONFIG_NAME: _json_bytes(old)}, COMMIT_A, refs=("v1",))
    populate_hub_cache(tmp_path, "org/model", {CONFIG_NAME: _json_bytes(new)}, COMMIT_B, refs=("main",))
    assert FreqCaConfig.from_pretrained("org/model", cache_dir=tmp_path) == new
    assert FreqCaConfig.from_pretrained("org/model", cache_dir=tmp_path, revision="v1") == old
    assert FreqCaConfig.from_pretrained("org/model", cache_dir=tmp_path, revision=COMMIT_A) == old


def test_offline_subfolder(tmp_path, offline):
    populate_hub_cache(tmp_path, "org/model", {f"freqca/{CONFIG_NAME}": _json_bytes(CUSTOM)}, COMMIT_A)
    assert FreqCaConfig.from_pretrained("org/model", subfolder="freqca", cache_dir=tmp_path) == CUSTOM
    with pytest.raises(OSError, match="not in the local Hub cache"):
        FreqCaConfig.from_pretrained("org/model", cache_dir=tmp_path)


def test_offline_without_cache_entry_is_a_clear_error(tmp_path, offline):
    with pytest.raises(OSError, match="offline mode") as error:
        FreqCaConfig.from_pretrained("org/not-cached", cache_dir=tmp_path)
    assert "org/not-cached" in str(error.value)


def test_local_files_only_reads_the_cache_while_online(tmp_path, monkeypatch):
    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", False)
    populate_hub_cache(tmp_path, "org/model", {CONFIG_NAME: _json_bytes(CUSTOM)}, COMMIT_A)
    assert FreqCaConfig.from_pretrained("org/model", cache_dir=tmp_path, local_files_only=True) == CUSTOM
    with pytest.raises(OSError, match="local_files_only"):
        FreqCaConfig.from_pretrained("org/other", cache_dir=tmp_path, local_files_only=True)


def test_bad_cached_file_names_the_problem(tmp_path, offline):
    populate_hub_cache(
        tmp_path, "org/model", {CONFIG_NAME: json.dumps(_file_content(format_version=7)).encode()}, COMMIT_A
    )
    with pytest.raises(ValueError, match="format_version` is 7"):
        FreqCaConfig.from_pretrained("org/model", cache_dir=tmp_path)


# -------------------------------------------------------------------------------------------------- fake Hub endpoint


class FakeHub:
    r"""
    An in-memory Hub: repositories with a `main` branch, pull requests kept apart, and the HTTP routes that
    `huggingface_hub` calls to create repositories, commit files and download them.
    """

    def __init__(self):
        self.repos: dict[str, dict] = {}
        self.requests: list[tuple[str, str, dict]] = []
        self.pull_requests: list[dict] = []
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _reply(self, status, payload=None, headers=None, body=b""):
                if payload is not None:
                    body = json.dumps(payload).encode()
                self.send_response(status)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _record(self):
                hub.requests.append((self.command, self.path, dict(self.headers)))

            def do_POST(self):
                self._record()
                url = urlparse(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if url.path == "/api/repos/create":
                    request = json.loads(body)
                    repo_id = f"{request.get('organization') or 'fake-user'}/{request['name']}"
                    repo = hub.repos.setdefault(repo_id, {"files": {}, "commit": "0" * 40, "visibility": None})
                    # huggingface_hub < 1.0 sent `private`, later versions send `visibility`.
                    private = request.get("private")
                    visibility = request.get("visibility") or {True: "private", False: "public"}.get(private)
                    repo["visibility"] = visibility or repo["visibility"]
                    return self._reply(200, {"url": f"{hub.endpoint}/{repo_id}", "name": repo_id})
                if url.path == "/api/validate-yaml":
                    # The Hub checks the metadata of every README.md committed; this fake accepts all of them.
                    return self._reply(200, {"errors": [], "warnings": []})
                if url.path.startswith("/api/models/") and "/preupload/" in url.path:
                    files = json.loads(body)["files"]
                    return self._reply(
                        200,
                        {
                            "files": [
                                {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False} for f in files
                            ]
                        },
                    )
                if url.path.startswith("/api/models/") and "/commit/" in url.path:
                    repo_id = url.path[len("/api/models/") :].split("/commit/")[0]
                    lines = [json.loads(line) for line in body.decode().splitlines() if line.strip()]
                    files = {
                        line["value"]["path"]: base64.b64decode(line["value"]["content"])
                        for line in lines
                        if line["key"] == "file"
                    }
                    summary = next(line["value"]["summary"] for line in lines if line["key"] == "header")
                    commit = hashlib.sha1(repr(sorted(files.items())).encode()).hexdigest()
                    if parse_qs(url.query).get("create_pr") == ["1"]:
                        hub.pull_requests.append({"repo_id": repo_id, "files": files, "summary": summary})
                        number = len(hub.pull_requests)
                        return self._reply(
                            200,
                            {
                                "commitUrl": f"{hub.endpoint}/{repo_id}/commit/{commit}",
                                "commitOid": commit,
                                "pullRequestUrl": f"{hub.endpoint}/{repo_id}/discussions/{number}",
                            },
                        )
                    repo = hub.repos[repo_id]
                    repo["files"].update(files)
                    repo["commit"], repo["summary"] = commit, summary
                    return self._reply(
                        200, {"commitUrl": f"{hub.endpoint}/{repo_id}/commit/{commit}", "commitOid": commit}
                    )
                return self._reply(404, {"error": f"no route {url.path}"})

            def do_HEAD(self):
                self._resolve()

            def do_GET(self):
                self._resolve()

            def _resolve(self):
                self._record()
                path = unquote(urlparse(self.path).path).lstrip("/")
                if "/resolve/" not in path:
                    return self._reply(404, {"error": f"no route {path}"})
                repo_id, rest = path.split("/resolve/", 1)
                filename = rest.split("/", 1)[1]
                repo = hub.repos.get(repo_id)
                if repo is None:
                    return self._reply(404, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"})
                if filename not in repo["files"]:
                    return self._reply(404, {"error": "Entry not found"}, {"X-Error-Code": "EntryNotFound"})
                content = repo["files"][filename]
                etag = hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()
                headers = {"X-Repo-Commit": repo["commit"], "ETag": f'"{etag}"'}
                return self._reply(200, headers=headers, body=content)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@contextlib.contextmanager
def running_fake_hub(monkeypatch, cache_dir):
    r"""Starts a `FakeHub` and points huggingface_hub at it: online, with `cache_dir` as cache and a fake token."""
    hub = FakeHub().start()
    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setenv("HF_HUB_CACHE", str(cache_dir))
    monkeypatch.setenv("HF_TOKEN", "hf_fake_token")
    # The endpoint, URL template, offline flag and cache folder are computed once from the environment, at import.
    importlib.reload(hub_constants)
    try:
        yield hub
    finally:
        hub.stop()
        monkeypatch.undo()
        importlib.reload(hub_constants)


@pytest.fixture
def fake_hub(tmp_path, monkeypatch):
    with running_fake_hub(monkeypatch, tmp_path / "hub-cache") as hub:
        yield hub


def test_push_to_hub_uploads_the_file(fake_hub):
    commit = CUSTOM.push_to_hub("me/freqca-config", commit_message="Add config", private=True)
    repo = fake_hub.repos["me/freqca-config"]
    assert repo["visibility"] == "private" and repo["summary"] == "Add config"
    assert json.loads(repo["files"][CONFIG_NAME]) == config_to_json_dict(CUSTOM)
    assert commit.oid == repo["commit"]
    # The stored token is used.
    assert fake_hub.requests and all(
        headers.get("authorization") == "Bearer hf_fake_token" for _, _, headers in fake_hub.requests
    )


def test_push_then_download_then_offline(fake_hub, tmp_path):
    CUSTOM.push_to_hub("me/round-trip", subfolder="freqca")
    cache = tmp_path / "cache"
    assert FreqCaConfig.from_pretrained("me/round-trip", subfolder="freqca", cache_dir=cache) == CUSTOM
    # The download went through the Hub cache layout: it is served from there once offline.
    hub_constants.HF_HUB_OFFLINE = True
    fake_hub.requests.clear()
    assert FreqCaConfig.from_pretrained("me/round-trip", subfolder="freqca", cache_dir=cache) == CUSTOM
    assert fake_hub.requests == []


def test_push_to_hub_create_pr_leaves_main_alone(fake_hub):
    FreqCaConfig(cache_interval=6).push_to_hub("me/pr-repo")
    commit = FreqCaConfig(cache_interval=9).push_to_hub("me/pr-repo", create_pr=True)
    assert commit.pr_url.endswith("/me/pr-repo/discussions/1")
    assert json.loads(fake_hub.repos["me/pr-repo"]["files"][CONFIG_NAME])["cache_interval"] == 6
    assert json.loads(fake_hub.pull_requests[0]["files"][CONFIG_NAME])["cache_interval"] == 9


def test_save_pretrained_push_to_hub_uses_the_folder_name(fake_hub, tmp_path):
    CUSTOM.save_pretrained(tmp_path / "my-config", push_to_hub=True, repo_id="me/my-config")
    assert json.loads(fake_hub.repos["me/my-config"]["files"][CONFIG_NAME]) == config_to_json_dict(CUSTOM)
    CUSTOM.save_pretrained(tmp_path / "default-name", push_to_hub=True)
    assert "fake-user/default-name" in fake_hub.repos  # a bare name goes to the token user's namespace


def test_hub_errors_are_clear(fake_hub, tmp_path):
    with pytest.raises(OSError, match="no Hub repository of that name"):
        FreqCaConfig.from_pretrained("me/missing", cache_dir=tmp_path)
    FreqCaConfig().push_to_hub("me/other-files", subfolder="elsewhere")
    with pytest.raises(OSError, match=f"has no {CONFIG_NAME}"):
        FreqCaConfig.from_pretrained("me/other-files", cache_dir=tmp_path)


# pytest.mark.parametrize rather than parameterized: these tests need fixtures.
@pytest.mark.parametrize(
    ("overrides", "pattern"),
    [
        pytest.param({"repo_id": "a/b/c"}, "repo_id", id="repo_id_nested"),
        pytest.param({"repo_id": ""}, "repo_id", id="repo_id_empty"),
        pytest.param({"repo_id": 3}, "repo_id", id="repo_id_type"),
        pytest.param({"commit_message": ""}, "commit_message", id="commit_message"),
        pytest.param({"private": "yes"}, "private", id="private"),
        pytest.param({"create_pr": 1}, "create_pr", id="create_pr"),
        pytest.param({"revision": 5}, "revision", id="revision"),
        pytest.param({"subfolder": "/abs"}, "subfolder", id="subfolder"),
    ],
)
def test_push_argument_validation_happens_before_any_request(overrides, pattern, offline):
    # Offline mode makes any HTTP request fail with a different error: a ValueError proves none was made.
    kwargs = {"repo_id": "me/config", **overrides}
    with pytest.raises(ValueError, match=pattern):
        push_config_to_hub(FreqCaConfig(), **kwargs)


def test_loaded_config_runs_like_the_original(tmp_path):
    # End to end: a config that went through a file drives a real pipeline exactly like the object it came from.
    from tiny_pipelines import NUM_INFERENCE_STEPS, build_tiny_pipeline

    from diffusers_freqca import full_steps, get_freqca_stats

    config = FreqCaConfig(cache_interval=3, decomposition="dct", low_freq_order=0, cache_dtype=torch.float32)
    config.save_pretrained(tmp_path)
    pipe, inputs = build_tiny_pipeline("flux")
    outputs = []
    for candidate in (config, FreqCaConfig.from_pretrained(tmp_path)):
        pipe.transformer.enable_cache(candidate)
        outputs.append(pipe(**inputs(seed=0)).images)
        assert get_freqca_stats(pipe.transformer).contexts
        for stats in get_freqca_stats(pipe.transformer).contexts.values():
            assert stats.full_steps == full_steps(NUM_INFERENCE_STEPS, config)
        pipe.transformer.disable_cache()
    assert torch.equal(outputs[0], outputs[1])
