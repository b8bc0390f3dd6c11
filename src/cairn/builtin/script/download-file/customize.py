"""download-file: fetch ``CM_DOWNLOAD_URL`` with urllib and check its checksum.

The file is written to a temporary name next to its final place and renamed only once its
checksum matches, so a failed or mismatching download leaves nothing behind. It lands in
``CM_DOWNLOAD_PATH`` if given, else in the cache entry (``--force_cache``), else in the
caller's directory (as in CM).
"""

import os
import re
from pathlib import Path

from cairn import fetch
from cairn.errors import CairnError
from cairn.script.recipes import fail, result_dir


def preprocess(i):
    env = i["env"]
    try:
        url = fetch.check_url(str(env.get("CM_DOWNLOAD_URL", "")))
    except CairnError as exc:
        return fail(f"--url: {exc}")
    name = env.get("CM_DOWNLOAD_FILENAME") or fetch.file_name(url)
    if not name or os.path.basename(name) != name or name in (".", ".."):
        return fail(f"cannot name the file from {url!r}: give --filename=NAME")
    checksum = _checksum(env.get("CM_DOWNLOAD_CHECKSUM"))
    if checksum is None:
        return fail("--checksum must be a hex sha256 (or md5, sha1, sha512) digest")
    env["CM_DOWNLOAD_URL"] = url
    env["CM_DOWNLOAD_FILENAME"] = name
    env["CM_DOWNLOAD_CHECKSUM"] = checksum
    return {"return": 0}


def postprocess(i):
    env = i["env"]
    url, name = env["CM_DOWNLOAD_URL"], env["CM_DOWNLOAD_FILENAME"]
    folder = env.get("CM_DOWNLOAD_PATH") or result_dir(env)
    folder = os.path.join(env.get("CM_TMP_CURRENT_PATH", ""), os.path.expanduser(folder))
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, name)
    try:
        fetch.download(url, Path(path), env["CM_DOWNLOAD_CHECKSUM"])
    except CairnError as exc:
        return fail(str(exc))
    env["CM_DOWNLOAD_DOWNLOADED_PATH"] = path
    env["CM_GET_DEPENDENT_CACHED_PATH"] = path
    if env.get("CM_DOWNLOAD_FINAL_ENV_NAME"):
        env[env["CM_DOWNLOAD_FINAL_ENV_NAME"]] = path
    return {"return": 0}


def _checksum(value):
    """The lower-case hex digest, ``''`` when none was given, ``None`` when malformed.

    A yes/no value (CM's ``--verify`` means "verify SSL") is not a checksum: it is ignored.
    """
    text = str(value or "").strip().lower()
    text = re.sub(r"^(sha256|sha512|sha1|md5)[:=]", "", text)
    if text in ("", "yes", "no", "true", "false", "on", "off"):
        return ""
    return text if re.fullmatch(r"[0-9a-f]+", text) and len(text) in fetch.DIGESTS else None
