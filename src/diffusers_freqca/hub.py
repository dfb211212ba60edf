# Copyright 2026 The diffusers-freqca authors. All rights reserved.
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.
"""FreqCa configs as files: in local folders and in Hugging Face Hub repositories.

A config is stored as one JSON file, `freqca_config.json` (`CONFIG_NAME`), next to a model or in a repository of its
own. Format version 2 holds:

```json
{
  "_class_name": "FreqCaConfig",
  "format_version": 2,
  "_diffusers_freqca_version": "0.1.0",
  "cache_interval": 6,
  "...": "every field of `FreqCaConfig.to_dict()`; dtypes by name, e.g. \"bfloat16\""
}
```

`_class_name` and `format_version` are required; `_diffusers_freqca_version` (the library that wrote the file) is
informational. Fields that are missing take the `FreqCaConfig` defaults of the reading library, with one exception:
version 1 files were written before `warmup_stride` existed, when the warm-up was always on consecutive steps, so a
version 1 file without it reads as `warmup_stride=1` (the schedule it was written with); and a file with a band split
whose two orders are equal (accepted, and without effect, before such configs were refused) reads as
`decomposition="none"`, with a warning. Readers refuse files with a
newer `format_version` than they know, unknown keys, and invalid values, each with a `ValueError` naming the key and
value.
"""

import json
import os
import warnings
from typing import Any

from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub.errors import (
    EntryNotFoundError,
    HfHubHTTPError,
    HFValidationError,
    LocalEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.utils import validate_repo_id

from .config import DECOMPOSITIONS, FreqCaConfig


CONFIG_NAME = "freqca_config.json"
_BAND_ORDERS = ("low_freq_order", "high_freq_order")
FORMAT_VERSION = 2
CLASS_NAME = "FreqCaConfig"
# Keys of the file that are not `FreqCaConfig` fields.
_CLASS_KEY = "_class_name"
_FORMAT_KEY = "format_version"
_VERSION_KEY = "_diffusers_freqca_version"
_METADATA_KEYS = (_CLASS_KEY, _FORMAT_KEY, _VERSION_KEY)
DEFAULT_COMMIT_MESSAGE = "Upload FreqCa config"
_PUSH_KWARGS = ("repo_id", "commit_message", "private", "token", "revision", "create_pr", "subfolder")


def _library_version() -> str:
    from . import __version__

    return __version__


def _check_optional_str(name: str, value: Any) -> None:
    if value is not None and (not isinstance(value, str) or not value):
        raise ValueError(f"`{name}` must be a non-empty str or None, got {value!r}.")


def _check_bool(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"`{name}` must be a bool, got {value!r}.")


def _check_subfolder(subfolder: Any) -> None:
    _check_optional_str("subfolder", subfolder)
    # A subfolder is a relative path inside a folder or repository; anything else would escape it.
    if subfolder is not None and (os.path.isabs(subfolder) or ".." in subfolder.replace("\\", "/").split("/")):
        raise ValueError(f"`subfolder` must be a relative path inside the folder or repository, got {subfolder!r}.")


def _check_repo_id(repo_id: Any) -> None:
    if not isinstance(repo_id, str) or not repo_id:
        raise ValueError(f"`repo_id` must be a non-empty str such as 'user/my-freqca-config', got {repo_id!r}.")
    try:
        validate_repo_id(repo_id)
    except HFValidationError as error:
        raise ValueError(f"`repo_id` {repo_id!r} is not a valid Hub repository id: {error}") from error


def _path_in_repo(subfolder: str | None) -> str:
    return CONFIG_NAME if subfolder is None else f"{subfolder.strip('/')}/{CONFIG_NAME}"


def config_to_json_dict(config: FreqCaConfig) -> dict[str, Any]:
    r"""
    The content of a `freqca_config.json` file for `config`.

    Args:
        config (`FreqCaConfig`): the config to serialise.

    Returns:
        `dict[str, Any]`: the metadata keys (`_class_name`, `format_version`, `_diffusers_freqca_version`) followed by
        `config.to_dict()`.

    Example:
        ```python
        >>> from diffusers_freqca import FreqCaConfig
        >>> from diffusers_freqca.hub import config_to_json_dict

        >>> config_to_json_dict(FreqCaConfig(cache_interval=9))["format_version"]
        1
        ```
    """
    if not isinstance(config, FreqCaConfig):
        raise ValueError(f"`config` must be a FreqCaConfig, got {type(config).__name__}.")
    return {
        _CLASS_KEY: CLASS_NAME,
        _FORMAT_KEY: FORMAT_VERSION,
        _VERSION_KEY: _library_version(),
        **config.to_dict(),
    }


def config_to_json_string(config: FreqCaConfig) -> str:
    r"""
    The text of a `freqca_config.json` file for `config` (indented JSON with a final newline).

    Args:
        config (`FreqCaConfig`): the config to serialise.

    Returns:
        `str`: the JSON text.

    Example:
        ```python
        >>> from diffusers_freqca.hub import config_to_json_string

        >>> print(config_to_json_string(FreqCaConfig()).splitlines()[1])
          "_class_name": "FreqCaConfig",
        ```
    """
    return json.dumps(config_to_json_dict(config), indent=2) + "\n"


def config_from_json_dict(data: Any, source: str = "the config") -> FreqCaConfig:
    r"""
    Builds a `FreqCaConfig` from the content of a `freqca_config.json` file, checking its metadata.

    Args:
        data (`dict`): the parsed JSON.
        source (`str`, *optional*): where the data comes from, used in error messages.

    Returns:
        [`FreqCaConfig`]: the config.

    Raises:
        `ValueError`: if the data is not a JSON object, `_class_name` is not `"FreqCaConfig"`, `format_version` is
        missing, not an int or newer than this library reads, a key is unknown or a value is invalid. The message
        names the key and the value.

    Example:
        ```python
        >>> from diffusers_freqca.hub import config_from_json_dict

        >>> config_from_json_dict({"_class_name": "FreqCaConfig", "format_version": 2, "cache_interval": 9})
        FreqCaConfig(cache_interval=9, ..., warmup_stride=3, ...)
        >>> config_from_json_dict({"_class_name": "FreqCaConfig", "format_version": 1, "cache_interval": 9})
        FreqCaConfig(cache_interval=9, ..., warmup_stride=1, ...)
        ```
    """
    if not isinstance(data, dict):
        raise ValueError(f"{source} must hold a JSON object, got {type(data).__name__}.")
    class_name = data.get(_CLASS_KEY)
    if class_name != CLASS_NAME:
        raise ValueError(
            f"{source}: `{_CLASS_KEY}` must be {CLASS_NAME!r}, got {class_name!r}. This file does not hold a FreqCa config."
        )
    version = data.get(_FORMAT_KEY)
    if version is None:
        raise ValueError(f"{source}: `{_FORMAT_KEY}` is missing; files written by diffusers-freqca always have it.")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f"{source}: `{_FORMAT_KEY}` must be a positive int, got {version!r}.")
    if version > FORMAT_VERSION:
        raise ValueError(
            f"{source}: `{_FORMAT_KEY}` is {version}, but diffusers-freqca {_library_version()} reads versions up to "
            f"{FORMAT_VERSION}. Upgrade diffusers-freqca to read this file."
        )
    fields = {key: value for key, value in data.items() if key not in _METADATA_KEYS}
    if version < 2 and "warmup_stride" not in fields:
        # Written before the field existed: its warm-up was on consecutive steps, and a stored config must keep its
        # schedule when the library's defaults change.
        fields["warmup_stride"] = 1
    decomposition = fields.get("decomposition", "none")
    splits = decomposition in DECOMPOSITIONS and decomposition != "none"
    orders = {name: fields.get(name, FreqCaConfig.__dataclass_fields__[name].default) for name in _BAND_ORDERS}
    if splits and orders["low_freq_order"] == orders["high_freq_order"]:
        # Files written before such configs were refused: the split never ran, so they load as they ran.
        warnings.warn(
            f"{source}: `decomposition={decomposition!r}` with equal band orders split nothing when this file was "
            "written; it is read as `decomposition='none'`, which computes the same.",
            stacklevel=2,
        )
        fields["decomposition"] = "none"
    try:
        return FreqCaConfig.from_dict(fields)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{source}: {error}") from error


def save_config(config: FreqCaConfig, save_directory: str | os.PathLike, push_to_hub: bool = False, **kwargs) -> str:
    r"""
    Writes `config` to `save_directory/freqca_config.json`, and optionally uploads it to the Hub.

    Args:
        config (`FreqCaConfig`): the config to save.
        save_directory (`str` or `os.PathLike`): the folder to write to; created if it does not exist.
        push_to_hub (`bool`, *optional*, defaults to `False`): whether to upload the file to the Hub afterwards.
        kwargs: with `push_to_hub=True`, the arguments of [`push_config_to_hub`] (`repo_id`, which defaults to the
            name of `save_directory`, `commit_message`, `private`, `token`, `revision`, `create_pr`, `subfolder`).

    Returns:
        `str`: the path of the written file.

    Example:
        ```python
        >>> from diffusers_freqca.hub import save_config

        >>> save_config(FreqCaConfig(cache_interval=9), "my-freqca-config")
        'my-freqca-config/freqca_config.json'
        ```
    """
    if not isinstance(save_directory, (str, os.PathLike)):
        raise ValueError(f"`save_directory` must be a path, got {save_directory!r}.")
    _check_bool("push_to_hub", push_to_hub)
    unknown = sorted(set(kwargs) - set(_PUSH_KWARGS))
    if unknown:
        raise ValueError(
            f"Unknown keyword argument(s) {unknown}; with `push_to_hub=True` allowed are {list(_PUSH_KWARGS)}."
        )
    if kwargs and not push_to_hub:
        raise ValueError(f"Keyword argument(s) {sorted(kwargs)} only apply with `push_to_hub=True`.")
    save_directory = os.fspath(save_directory)
    if os.path.isfile(save_directory):
        raise ValueError(f"`save_directory` must be a folder, but {save_directory!r} is a file.")
    if push_to_hub:
        # Checked before anything is written: a folder name is not always a valid repository name.
        repo_id = kwargs.pop("repo_id", None) or os.path.basename(os.path.normpath(os.path.abspath(save_directory)))
        _check_repo_id(repo_id)
    text = config_to_json_string(config)
    os.makedirs(save_directory, exist_ok=True)
    path = os.path.join(save_directory, CONFIG_NAME)
    with open(path, "w", encoding="utf-8") as file:
        file.write(text)
    if push_to_hub:
        push_config_to_hub(config, repo_id, **kwargs)
    return path


def _read_json_file(path: str) -> FreqCaConfig:
    with open(path, encoding="utf-8") as file:
        text = file.read()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from error
    return config_from_json_dict(data, source=path)


def load_config(
    repo_id_or_path: str | os.PathLike,
    subfolder: str | None = None,
    revision: str | None = None,
    token: str | bool | None = None,
    cache_dir: str | os.PathLike | None = None,
    local_files_only: bool = False,
    force_download: bool = False,
) -> FreqCaConfig:
    r"""
    Loads a config from a local folder, a local `.json` file or a Hub repository.

    Hub files go through `huggingface_hub.hf_hub_download`, so they are cached like every other Hub file (in
    `cache_dir`, or `HF_HUB_CACHE`), and with `HF_HUB_OFFLINE=1` or `local_files_only=True` only the cache is read.

    Args:
        repo_id_or_path (`str` or `os.PathLike`):
            A folder holding `freqca_config.json`, the path of such a JSON file, or a Hub repository id
            (`"user/name"`).
        subfolder (`str`, *optional*): the folder inside the folder or repository that holds the file.
        revision (`str`, *optional*): branch, tag or commit of the Hub repository; defaults to `"main"`.
        token (`str` or `bool`, *optional*): Hub token for private or gated repositories; `None` uses the stored one.
        cache_dir (`str` or `os.PathLike`, *optional*): the Hub cache folder; defaults to `HF_HUB_CACHE`.
        local_files_only (`bool`, *optional*, defaults to `False`): read only the local cache, never the network.
        force_download (`bool`, *optional*, defaults to `False`): download the file even if it is cached.

    Returns:
        [`FreqCaConfig`]: the config.

    Raises:
        `ValueError`: for invalid arguments and for files with bad content (see [`config_from_json_dict`]).
        `OSError`: when the file cannot be found locally, in the cache or on the Hub.

    Example:
        ```python
        >>> from diffusers_freqca.hub import load_config

        >>> config = load_config("my-freqca-config")  # a folder written by `save_config`
        ```
    """
    if not isinstance(repo_id_or_path, (str, os.PathLike)) or not os.fspath(repo_id_or_path):
        raise ValueError(f"`repo_id_or_path` must be a folder, a JSON file or a Hub repo id, got {repo_id_or_path!r}.")
    _check_subfolder(subfolder)
    _check_optional_str("revision", revision)
    if token is not None and not isinstance(token, (str, bool)):
        raise ValueError(f"`token` must be a str, a bool or None, got {type(token).__name__}.")
    if cache_dir is not None and not isinstance(cache_dir, (str, os.PathLike)):
        raise ValueError(f"`cache_dir` must be a path or None, got {cache_dir!r}.")
    _check_bool("local_files_only", local_files_only)
    _check_bool("force_download", force_download)
    if local_files_only and force_download:
        raise ValueError("`force_download=True` needs the network and contradicts `local_files_only=True`.")

    location = os.fspath(repo_id_or_path)
    if os.path.isfile(location):
        if subfolder is not None:
            raise ValueError(f"`subfolder` applies to folders and repositories, but {location!r} is a file.")
        return _read_json_file(location)
    if os.path.isdir(location):
        path = os.path.join(location, subfolder or "", CONFIG_NAME)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"No {CONFIG_NAME} in the folder {os.path.dirname(path)!r}.")
        return _read_json_file(path)

    try:
        validate_repo_id(location)
    except HFValidationError as error:
        raise FileNotFoundError(
            f"{location!r} is neither an existing folder or file nor a valid Hub repository id ('user/name')."
        ) from error
    where = f"{location!r}" + (f" (revision {revision!r})" if revision else "")
    try:
        path = hf_hub_download(
            location,
            _path_in_repo(subfolder),
            revision=revision,
            token=token,
            cache_dir=cache_dir,
            local_files_only=local_files_only,
            force_download=force_download,
            library_name="diffusers-freqca",
            library_version=_library_version(),
        )
    # LocalEntryNotFoundError subclasses EntryNotFoundError: it must come first.
    except LocalEntryNotFoundError as error:
        raise OSError(
            f"{_path_in_repo(subfolder)} of {where} is not in the local Hub cache and the Hub cannot be reached "
            "(offline mode, `local_files_only=True` or no connection). Download it once while online."
        ) from error
    except RepositoryNotFoundError as error:
        raise OSError(
            f"{where} is not a local folder and no Hub repository of that name can be accessed. For a private or "
            "gated repository, log in (`hf auth login`) or pass `token=`."
        ) from error
    except RevisionNotFoundError as error:
        raise OSError(f"The Hub repository {location!r} has no revision {revision!r}.") from error
    except EntryNotFoundError as error:
        raise OSError(
            f"The Hub repository {where} has no {_path_in_repo(subfolder)}. Upload one with "
            "`FreqCaConfig.push_to_hub(repo_id)`."
        ) from error
    except HfHubHTTPError as error:
        raise OSError(f"Could not download {_path_in_repo(subfolder)} of {where}: {error}") from error
    return _read_json_file(path)


def push_config_to_hub(
    config: FreqCaConfig,
    repo_id: str,
    commit_message: str | None = None,
    private: bool | None = None,
    token: str | None = None,
    revision: str | None = None,
    create_pr: bool = False,
    subfolder: str | None = None,
):
    r"""
    Uploads `config` as `freqca_config.json` to a Hub model repository, creating the repository if needed.

    Args:
        config (`FreqCaConfig`): the config to upload.
        repo_id (`str`): the repository, `"user/name"` or `"name"` (then in the namespace of the token's user).
        commit_message (`str`, *optional*, defaults to `"Upload FreqCa config"`): the commit message.
        private (`bool`, *optional*): visibility of a newly created repository; `None` uses the Hub's default.
            An existing repository keeps its visibility.
        token (`str`, *optional*): Hub token with write access; `None` uses the stored one.
        revision (`str`, *optional*): an existing branch to commit to; defaults to `"main"`.
        create_pr (`bool`, *optional*, defaults to `False`): open a pull request instead of committing directly.
        subfolder (`str`, *optional*): the folder of the repository to upload the file into.

    Returns:
        `huggingface_hub.CommitInfo`: the commit (its `pr_url` is set with `create_pr=True`).

    Example:
        ```python
        >>> from diffusers_freqca.hub import push_config_to_hub

        >>> push_config_to_hub(FreqCaConfig(cache_interval=9), "my-user/my-freqca-config")
        ```
    """
    if not isinstance(config, FreqCaConfig):
        raise ValueError(f"`config` must be a FreqCaConfig, got {type(config).__name__}.")
    _check_repo_id(repo_id)
    if commit_message is None:
        commit_message = DEFAULT_COMMIT_MESSAGE
    _check_optional_str("commit_message", commit_message)
    if private is not None:
        _check_bool("private", private)
    _check_optional_str("token", token)
    _check_optional_str("revision", revision)
    _check_bool("create_pr", create_pr)
    _check_subfolder(subfolder)
    payload = config_to_json_string(config).encode("utf-8")

    api = HfApi(token=token, library_name="diffusers-freqca", library_version=_library_version())
    # `create_repo` resolves a bare name to the token user's namespace; commit to the id it returns.
    repo_id = api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model").repo_id
    return api.upload_file(
        path_or_fileobj=payload,
        path_in_repo=_path_in_repo(subfolder),
        repo_id=repo_id,
        repo_type="model",
        commit_message=commit_message,
        revision=revision,
        create_pr=create_pr,
    )
